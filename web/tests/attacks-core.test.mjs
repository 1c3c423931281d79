// Attacks on the web client core (under node, against the real relay) by a malicious member built
// with ts-mls in the test helper (src/testing/facilitator.ts), each handed to the victim's client as
// a relay that let it through would (handleBatch), or through the real relay:
// - a proposal or a commit, in either framing, delivered as any kind (APPLICATION, PROPOSAL, COMMIT),
//   and application content delivered as PROPOSAL or COMMIT, never changes the group; a ghost seated
//   that way reads nothing the victim sends next (issue 11, defect 1);
// - an Update or an UpdatePath leaf that changes a member's account, type or signature key is
//   refused, never kept, never committed; the proposal types the product does not use, and the
//   changes only facilitators may propose, are refused; a commit takes only the allowed pending
//   proposals (defects 2 and 3c);
// - a proposal that cannot be read is dropped with a notice and the conversation goes on (defect 3a);
// - a Welcome from someone who may not add, or to a professional who did not accept on this device,
//   is refused; a relay's clock far ahead of the device's prunes no history (defect 8).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { facilitator as f, groupKey, MemoryStore, Messenger, proto } from "../build-node/core.mjs";
import { eventually, startServer } from "./support.mjs";

const { APPLICATION, PROPOSAL, COMMIT } = proto.DeliveryKind;
const Refusal = proto.PolicyRefusal;
const KIND = { [APPLICATION]: "APPLICATION", [PROPOSAL]: "PROPOSAL", [COMMIT]: "COMMIT" };

let server;
const people = [];
let camille, sam, alex, intrus, drMartin;
let id;
let samAhead = 0;  // How far sam's device clock is ahead of the real one.
let seq = 1_000_000;  // Seqs of the entries handed over directly (above the relay's).

async function person(handle, code, now = undefined) {
  const m = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "cercle-test-attacks", keyPackageStock: 4, now });
  await m.register(handle, { code });
  assert.ok(await m.waitOnline(10_000));
  people.push(m);
  return m;
}

const texts = async (m) => (await f.groupMessages(m, id)).filter((x) => !x.event).map((x) => x.text);
const events = async (m) => (await f.groupMessages(m, id)).filter((x) => x.event).map((x) => x.event);
const roster = (m) => m.groupView(groupKey(id)).roster.map((r) => [r.handle, r.role, r.professional]);

/** What sam's client shows of the group, for before/after comparisons. */
async function snapshot(m) {
  return { epoch: await f.epoch(m, id), roster: roster(m), leaves: await f.leafHandles(m, id), pending: (await f.pendingProposals(m, id)).length };
}

/** The events of entries after `s` (the relay's, below the seqs handed over directly) that `pick` picks. */
async function eventsAfter(m, s, pick) {
  return (await f.groupMessages(m, id)).filter((x) => x.event && x.seq > s && x.seq < 1_000_000 && pick(x.event)).map((x) => x.event);
}

/** The events sam's client recorded for the entry at `s`. */
async function eventsAt(m, s) {
  return (await f.groupMessages(m, id)).filter((x) => x.seq === s && x.event).map((x) => x.event);
}

before(async () => {
  server = await startServer({ registration: "invite-code", codes: 6, testClock: true });
  camille = await person("camille", server.codes[0]);
  sam = await person("sam", server.codes[1], () => Date.now() + samAhead);
  alex = await person("alex", server.codes[2]);
  intrus = await person("intrus", server.codes[3]);
  drMartin = await person("dr.martin", server.codes[4]);
  server.admin("account", "set-type", "dr.martin", "professional");
  drMartin.stop();
  drMartin.start();
  assert.ok(await drMartin.waitOnline(10_000));
  await eventually("dr.martin knows it is a professional", () => drMartin.professional);
  id = await eventually("group created", () => f.createGroup(camille, { charter: "Ici, on s'écoute." }, ["sam", "alex"]).catch(() => null));
  await eventually("sam joined", () => sam.groupView(groupKey(id))?.roster.length === 3);
  await eventually("alex joined", () => alex.groupView(groupKey(id))?.roster.length === 3);
  await sam.sendText(groupKey(id), "Bonjour.");
  await eventually("camille reads sam", async () => (await texts(camille)).includes("Bonjour."));
});

after(async () => {
  for (const m of people) m.stop();
  await server?.stop();
});

test("a handshake message in any framing, delivered as any kind, never changes the group; a ghost reads nothing", async () => {
  const start = await snapshot(sam);
  assert.deepEqual(start.roster, [
    ["camille", "facilitator", false],
    ["alex", "member", false],
    ["sam", "member", false],
  ]);
  const epoch = start.epoch;
  const ghost = await f.newGhost();
  const publicCommit = await f.forgeGhostCommit(alex, id, ghost, "public");
  const privateCommit = await f.forgeGhostCommit(alex, id, ghost, "private");
  const publicProposal = await f.forgeProposal(alex, id, f.addProposal(ghost), "public");
  const privateProposal = await f.forgeProposal(alex, id, f.addProposal(ghost), "private");
  const application = await f.forgeApplication(alex, id, "Un message d'alex, mal étiqueté.");
  // What sam's client must show for each: an unreadable message, a dropped proposal, a change it
  // cannot follow, or the rules' refusal (the two well-labelled cases, which reach the rules check).
  const unreadable = { message: "unreadable" };
  const dropped = [{ type: "ignored", what: "proposal" }];
  const broken = [{ type: "broken" }];
  const cases = [
    ["public commit", publicCommit.commit, APPLICATION, unreadable],
    ["private commit", privateCommit.commit, APPLICATION, unreadable],
    ["public proposal", publicProposal, APPLICATION, unreadable],
    ["private proposal", privateProposal, APPLICATION, unreadable],
    ["public commit", publicCommit.commit, PROPOSAL, dropped],
    ["private commit", privateCommit.commit, PROPOSAL, dropped],
    ["private proposal", privateProposal, PROPOSAL, dropped],
    ["application", application, PROPOSAL, dropped],
    ["public proposal", publicProposal, PROPOSAL, [{ type: "proposalRefused", reason: Refusal.ONLY_FACILITATOR_ADDS, who: "fantome" }]],
    ["private commit", privateCommit.commit, COMMIT, broken],
    ["public proposal", publicProposal, COMMIT, broken],
    ["private proposal", privateProposal, COMMIT, broken],
    ["application", application, COMMIT, broken],
    ["public commit", publicCommit.commit, COMMIT, [{ type: "refused", reason: Refusal.ONLY_FACILITATOR_ADDS, who: "fantome" }]],
  ];
  for (const [what, payload, kind, expected] of cases) {
    const s = ++seq;
    const label = `${what} delivered as ${KIND[kind]}`;
    await f.deliver(sam, [f.delivery(id, s, kind, epoch, alex, payload)]);
    assert.deepEqual(await snapshot(sam), start, `${label}: the group did not change`);
    const shown = (await f.groupMessages(sam, id)).filter((x) => x.seq === s);
    if (expected === unreadable) {
      assert.deepEqual(shown.map((x) => [x.status, x.text, x.sender]), [["unreadable", "", ""]], `${label}: shown as unreadable`);
    } else {
      assert.deepEqual(await eventsAt(sam, s), expected, `${label}: what sam is told`);
    }
  }
  // The ghost holds the epoch alex's commit would have made; sam never entered it.
  await f.ghostJoins(ghost, publicCommit.welcome);
  await sam.sendText(groupKey(id), "Seulement pour le groupe.");
  await eventually("camille reads sam", async () => (await texts(camille)).includes("Seulement pour le groupe."));
  const log = await f.wireOf(camille).call({ case: "fetchLog", value: { conversationId: Buffer.from(id, "hex"), afterSeq: 0n, limit: 100 } }, "log");
  const sent = log.entries.filter((e) => e.senderDevice === sam.account.deviceId && e.kind === APPLICATION);
  assert.equal(sent.length, 2);
  for (const e of sent) assert.equal(await f.ghostReads(ghost, e.payload), undefined, "the ghost reads nothing sam sent");
  assert.deepEqual(roster(sam), start.roster);
});

test("an Update that changes a member's account, type or signature key is refused, never kept, never committed", async () => {
  const changes = [
    [{ handle: "camille" }, Refusal.IDENTITY_CHANGED],
    [{ kind: "professional" }, Refusal.ACCOUNT_TYPE_CHANGED],
    [{ newSignatureKey: true }, Refusal.SIGNATURE_KEY_CHANGED],
  ];
  for (const [change, reason] of changes) {
    const before = await snapshot(sam);
    const mark = f.convsOf(sam).get(id).processed;
    const update = await f.forgeUpdate(alex, id, change);
    const s = ++seq;
    // The facilitator's own client (which commits) and a member's.
    for (const m of [camille, sam]) {
      await f.deliver(m, [f.delivery(id, s, PROPOSAL, before.epoch, alex, update)]);
      assert.deepEqual(await f.pendingProposals(m, id), [], `${reason}: not kept`);
      assert.deepEqual(await eventsAt(m, s), [{ type: "proposalRefused", reason, who: "alex" }]);
    }
    // The facilitator's next commit does not carry it: every member still sees alex as alex, a peer.
    const rules = await f.rulesOf(camille, id);
    await f.setRules(camille, id, (p) => (p.charter = `${rules.charter} (${reason})`));
    await eventually("sam follows the commit", async () => (await f.epoch(sam, id)) === before.epoch + 1n);
    assert.deepEqual(await f.leafHandles(sam, id), before.leaves);
    assert.deepEqual(roster(sam), before.roster);
    assert.deepEqual(await eventsAfter(sam, mark, (e) => e.type === "refused" || e.type === "broken"), []);
  }
});

test("a commit takes only the pending proposals the rules allow", async () => {
  const before = await snapshot(sam);
  const mark = f.convsOf(sam).get(id).processed;
  // Camille's device holds alex's renaming Update unchecked (as a client without the check would):
  // sam never saw it, so a commit that carried it could not be followed.
  await f.holdUnchecked(camille, id, await f.forgeUpdate(alex, id, { handle: "camille" }));
  assert.equal((await f.pendingProposals(camille, id)).length, 1);
  await f.setRules(camille, id, (p) => (p.charter = "Ici, on s'écoute, vraiment."));
  await eventually("sam follows the commit", async () => (await f.epoch(sam, id)) === before.epoch + 1n);
  assert.deepEqual(await f.leafHandles(camille, id), before.leaves);
  assert.deepEqual(await f.leafHandles(sam, id), before.leaves);
  assert.deepEqual(await eventsAfter(sam, mark, (e) => e.type === "refused" || e.type === "broken"), []);
});

test("an UpdatePath leaf that names the committer after another account is refused", async () => {
  const before = await snapshot(sam);
  const forged = await f.forgeCommit(alex, id, { ownHandle: "camille" });
  const s = ++seq;
  await f.deliver(sam, [f.delivery(id, s, COMMIT, before.epoch, alex, forged)]);
  assert.deepEqual(await snapshot(sam), before);
  assert.deepEqual(await eventsAt(sam, s), [{ type: "refused", reason: Refusal.IDENTITY_CHANGED, who: "alex" }]);
});

test("proposal types the product does not use, and changes only facilitators propose, are refused; so are commits carrying them", async () => {
  const before = await snapshot(sam);
  const members = await f.leafHandles(sam, id);
  const camilleLeaf = Number(Object.keys(members).find((k) => members[k] === "camille"));
  const refused = [
    [await f.forgeOtherProposal(alex, id, "psk"), Refusal.PROPOSAL_TYPE_REFUSED, "alex"],
    [await f.forgeOtherProposal(alex, id, "reinit"), Refusal.PROPOSAL_TYPE_REFUSED, "alex"],
    [await f.forgeOtherProposal(alex, id, "external_init"), Refusal.PROPOSAL_TYPE_REFUSED, "alex"],
    [await f.forgeOtherProposal(alex, id, "gce"), Refusal.ONLY_FACILITATOR_CHANGES_RULES],
    [await f.forgeProposal(alex, id, { proposalType: "remove", remove: { removed: camilleLeaf } }), Refusal.ONLY_FACILITATOR_REMOVES],
  ];
  for (const [proposal, reason, who] of refused) {
    const s = ++seq;
    await f.deliver(sam, [f.delivery(id, s, PROPOSAL, before.epoch, alex, proposal)]);
    assert.deepEqual(await snapshot(sam), before, reason);
    assert.deepEqual(await eventsAt(sam, s), [who ? { type: "proposalRefused", reason, who } : { type: "proposalRefused", reason }]);
  }
  // The same by value in a commit.
  for (const [type, reason] of [["psk", Refusal.PROPOSAL_TYPE_REFUSED], ["reinit", Refusal.PROPOSAL_TYPE_REFUSED]]) {
    const s = ++seq;
    const commit = await f.forgeCommitWith(alex, id, f.proposalOf(await f.forgeOtherProposal(alex, id, type)));
    await f.deliver(sam, [f.delivery(id, s, COMMIT, before.epoch, alex, commit)]);
    assert.deepEqual(await snapshot(sam), before, type);
    assert.deepEqual(await eventsAt(sam, s), [{ type: "refused", reason, who: "alex" }]);
  }
  // A facilitator's commit naming alex's refused context change by reference is refused too.
  const [gce] = refused[3];
  await f.holdUnchecked(camille, id, gce);
  const byReference = await f.forgeCommitWithPending(camille, id);
  const s = ++seq;
  await f.deliver(sam, [f.delivery(id, s, COMMIT, before.epoch, camille, byReference)]);
  assert.deepEqual(await snapshot(sam), before);
  assert.deepEqual(await eventsAt(sam, s), [{ type: "refused", reason: Refusal.PROPOSAL_REFUSED, who: "alex" }]);
  await f.dropPending(camille, id);
});

test("a proposal that cannot be read is dropped with a notice, and the conversation goes on", async () => {
  const before = await snapshot(sam);
  const members = await f.leafHandles(sam, id);
  const alexLeaf = Number(Object.keys(members).find((k) => members[k] === "alex"));
  // Alex's own leaving (allowed), with a corrupted membership tag.
  const leaving = await f.forgeProposal(alex, id, { proposalType: "remove", remove: { removed: alexLeaf } });
  const s = ++seq;
  await f.deliver(sam, [f.delivery(id, s, PROPOSAL, before.epoch, alex, f.corruptTail(leaving))]);
  assert.deepEqual(await snapshot(sam), before);
  assert.deepEqual(await eventsAt(sam, s), [{ type: "ignored", what: "proposal" }]);
  await camille.sendText(groupKey(id), "On continue.");
  await eventually("sam reads camille", async () => (await texts(sam)).includes("On continue."));
  await sam.sendText(groupKey(id), "Oui.");
  await eventually("camille reads sam", async () => (await texts(camille)).includes("Oui."));
});

test("a Welcome from a member who may not add is refused; a professional joins only after accepting on the device", async () => {
  // Alex, a plain member of a group closed to peers, seats intrus (the relay would refuse the commit;
  // a lying relay hands intrus the Welcome and says intrus is in the group).
  const byAlex = await f.forgeAdd(alex, id, "intrus");
  const s1 = ++seq;
  await f.deliverWelcome(intrus, id, s1, byAlex.welcome, ["camille", "sam", "alex", "intrus"]);
  assert.equal(f.holdsGroup(intrus, id), false);
  assert.deepEqual(await eventsAt(intrus, s1), [{ type: "joinRefused", reason: "adderNotAllowed", who: "alex" }]);
  // Camille invites dr.martin, who does not accept; a Welcome from camille is refused on his device.
  const signed = await f.invite(camille, id, "dr.martin", { professional: true });
  const byCamille = await f.forgeAdd(camille, id, "dr.martin", signed);
  // Below the relay's seqs: the real Welcome that follows is still read.
  const s2 = 1;
  await f.deliverWelcome(drMartin, id, s2, byCamille.welcome, ["camille", "sam", "alex", "dr.martin"]);
  assert.equal(f.holdsGroup(drMartin, id), false);
  assert.deepEqual(await eventsAt(drMartin, s2), [{ type: "joinRefused", reason: "notAccepted" }]);
  // Once he accepts on his device, camille's Welcome seats him.
  await eventually("dr.martin has the invitation", () => drMartin.invitations().length === 1);
  await drMartin.acceptInvitation(drMartin.invitations()[0].id);
  await f.add(camille, id, "dr.martin", signed);
  await eventually("dr.martin joined", () => drMartin.groupView(groupKey(id))?.roster.length === 4);
  assert.equal(f.holdsGroup(drMartin, id), true);
});

test("in a group open to peers, a plain member's Welcome seats a peer", async () => {
  const open = await f.createGroup(camille, { joinRule: proto.JoinRule.OPEN_TO_PEERS }, ["alex"]);
  await eventually("alex joined", () => alex.groupView(groupKey(open))?.roster.length === 2);
  await f.wireOf(intrus).call({ case: "requestJoin", value: { conversationId: Buffer.from(open, "hex") } }, "done");
  await f.add(alex, open, "intrus");
  await eventually("intrus joined", () => intrus.groupView(groupKey(open))?.roster.length === 3);
  assert.equal(f.holdsGroup(intrus, open), true);
});

test("a relay's clock far ahead of the device's prunes no history; the device's own clock does", async () => {
  await f.setRules(camille, id, (p) => (p.retentionDays = 1));
  await eventually("sam knows the retention", () => sam.groupView(groupKey(id)).rules.retentionDays === 1);
  const older = await texts(sam);
  assert.ok(older.includes("Bonjour."));
  // The relay says a day and an hour went by; sam's device clock says nothing did.
  server.admin("clock", "advance", "25");
  await camille.sendText(groupKey(id), "Le relais avance.");
  await eventually("sam reads it", async () => (await texts(sam)).includes("Le relais avance."));
  await sam.prune();
  assert.deepEqual(await texts(sam), [...older, "Le relais avance."]);
  assert.ok(sam.serverNow() <= Date.now() + 5 * 60_000 + 1_000, "the relay's time is taken at most 5 minutes ahead");
  // A day later on the device too: the retention applies.
  samAhead = 25 * 3_600_000;
  await sam.prune();
  assert.deepEqual(await texts(sam), ["Le relais avance."]);
});
