// Groupes de parole in the client core under node, against the real relay: a facilitator (the
// node-side test helper) creates a group whose first commit sets its rules; members see roles and a
// professional marked as such; invitations, acceptance, revocation and deletion are shown; a
// forged commit (a member who is not a facilitator adding someone) is refused and the group stays
// on its epoch; erased entries do not stall the stream; the group's retention prunes old copies.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { facilitator as f, groupKey, MemoryStore, Messenger, proto } from "../build-node/core.mjs";
import { eventually, startServer } from "./support.mjs";

const Refusal = proto.PolicyRefusal;

let server;
const people = [];
let camille, sam, alex, drMartin, intrus;
let id;

/** How far sam's device clock is ahead of the real one (the retention test moves it with the relay's). */
let samAhead = 0;

async function person(handle, code, now = undefined) {
  const m = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "cercle-test-groups", keyPackageStock: 3, now });
  await m.register(handle, { code });
  assert.ok(await m.waitOnline(10_000));
  people.push(m);
  return m;
}

const texts = async (m) => (await f.groupMessages(m, id)).filter((x) => !x.event).map((x) => x.text);
const events = async (m) => (await f.groupMessages(m, id)).filter((x) => x.event).map((x) => x.event);

before(async () => {
  server = await startServer({ registration: "invite-code", codes: 6, testClock: true });
  camille = await person("camille", server.codes[0]);
  sam = await person("sam", server.codes[1], () => Date.now() + samAhead);
  alex = await person("alex", server.codes[2]);
  drMartin = await person("dr.martin", server.codes[3]);
  intrus = await person("intrus", server.codes[4]);
  // An instance admin makes dr.martin a professional: the relay drops the old key packages, and the
  // next sign-in publishes new ones that declare the type.
  server.admin("account", "set-type", "dr.martin", "professional");
  drMartin.stop();
  drMartin.start();
  assert.ok(await drMartin.waitOnline(10_000));
  await eventually("dr.martin knows it is a professional", () => drMartin.professional);
});

after(async () => {
  for (const m of people) m.stop();
  await server?.stop();
});

test("a facilitator creates a group with its rules; members see who leads it", async () => {
  id = await eventually("group created", () => f.createGroup(camille, { charter: "Ce qui se dit ici reste ici." }, ["sam", "alex"]).catch(() => null));
  await eventually("sam joined", () => sam.groupView(groupKey(id))?.roster.length === 3);
  const view = sam.groupView(groupKey(id));
  assert.deepEqual(
    view.roster.map((r) => [r.handle, r.role, r.professional, r.self]),
    [
      ["camille", "facilitator", false, false],
      ["alex", "member", false, false],
      ["sam", "member", false, true],
    ],
  );
  assert.equal(view.rules.charter, "Ce qui se dit ici reste ici.");
  assert.equal(view.rules.retentionDays, 0);
  const thread = sam.threads().find((t) => t.peer === groupKey(id));
  assert.equal(thread.group, true);
  assert.deepEqual([...thread.members].sort(), ["alex", "camille"]);
  await sam.sendText(groupKey(id), "Bonjour le groupe.");
  await eventually("camille reads sam", async () => (await texts(camille)).includes("Bonjour le groupe."));
  await eventually("alex reads sam", async () => (await texts(alex)).includes("Bonjour le groupe."));
});

test("a professional comes in by invitation, visibly, and is marked beside each message", async () => {
  const signed = await f.invite(camille, id, "dr.martin", { professional: true, accompanying: "sam" });
  await eventually("sam sees the invitation", async () => (await events(sam)).some((e) => e.type === "invited"));
  assert.deepEqual((await events(sam)).find((e) => e.type === "invited"), {
    type: "invited",
    by: "camille",
    invitee: "dr.martin",
    professional: true,
    accompanying: "sam",
    id: Buffer.from(f.nonceOf(signed)).toString("hex"),
  });
  // The invitee's client lists the invitation, with the charter to accept, and accepts it.
  await eventually("dr.martin has the invitation", () => drMartin.invitations().length === 1);
  const [pending] = drMartin.invitations();
  assert.deepEqual(
    [pending.inviter, pending.professional, pending.accompanying, pending.charter, pending.conversation],
    ["camille", true, "sam", "Ce qui se dit ici reste ici.", id],
  );
  await drMartin.acceptInvitation(pending.id);
  assert.equal(drMartin.invitations().length, 0);
  await eventually("sam sees the acceptance", async () => (await events(sam)).some((e) => e.type === "accepted" && e.invitee === "dr.martin"));
  await f.add(camille, id, "dr.martin", signed);
  await eventually("sam sees dr.martin join", () => sam.groupView(groupKey(id)).roster.some((r) => r.handle === "dr.martin"));
  const pro = sam.groupView(groupKey(id)).roster.find((r) => r.handle === "dr.martin");
  assert.deepEqual([pro.role, pro.professional, pro.accompanying], ["invitedProfessional", true, "sam"]);
  assert.ok((await events(sam)).some((e) => e.type === "joined" && e.who === "dr.martin" && e.professional));
  await eventually("dr.martin joined", () => drMartin.groupView(groupKey(id))?.roster.length === 4);
  await drMartin.sendText(groupKey(id), "Bonjour, je suis là pour Sam.");
  await eventually("sam reads dr.martin", async () => (await texts(sam)).includes("Bonjour, je suis là pour Sam."));
  const [m] = (await f.groupMessages(sam, id)).filter((x) => x.text === "Bonjour, je suis là pour Sam.");
  assert.equal(m.sender, "dr.martin");
  assert.equal(m.professional, true);
  const [own] = (await f.groupMessages(sam, id)).filter((x) => x.text === "Bonjour le groupe.");
  assert.equal(own.professional, false);
});

test("a withdrawn invitation and a deleted message are shown; the message is gone from the device", async () => {
  const lou = await f.invite(camille, id, "intrus", {});
  await f.revoke(camille, id, lou);
  await eventually("sam sees the withdrawal", async () => (await events(sam)).some((e) => e.type === "revoked" && e.invitee === "intrus"));
  await alex.sendText(groupKey(id), "Un message à supprimer.");
  await eventually("sam reads it", async () => (await texts(sam)).includes("Un message à supprimer."));
  const target = await eventually("camille has it", async () =>
    (await f.groupMessages(camille, id)).find((x) => x.text === "Un message à supprimer." && x.seq > 0),
  );
  await f.deleteEntry(camille, id, target.seq);
  await eventually("sam deletes it", async () => !(await texts(sam)).includes("Un message à supprimer."));
  assert.ok((await events(sam)).some((e) => e.type === "deleted"));
});

test("a commit that breaks the rules is refused: the group stays on its epoch and the member is told", async () => {
  const before = await f.epoch(sam, id);
  // Alex is a plain member: adding someone is a facilitator's act (the relay refuses it too, so the
  // forged commit is handed to sam's client directly, as a relay that let it through would).
  const forged = await f.forgeCommit(alex, id, { addHandle: "intrus" });
  const delivery = {
    conversationId: Buffer.from(id, "hex"),
    seq: 100_000n,
    kind: proto.DeliveryKind.COMMIT,
    epoch: before,
    senderDevice: alex.account.deviceId,
    serverTimeMs: BigInt(Date.now()),
    payload: forged,
    addedDevices: [],
    removedDevices: [],
    erasedFrom: 0n,
  };
  await f.handBatch(sam, f.wireOf(sam), [delivery]);
  assert.equal(await f.epoch(sam, id), before, "the group did not move");
  const refused = (await events(sam)).find((e) => e.type === "refused");
  assert.deepEqual(refused, { type: "refused", reason: Refusal.ONLY_FACILITATOR_ADDS, who: "intrus" });
  assert.equal(sam.groupView(groupKey(id)).refused, true);
  assert.ok(!sam.groupView(groupKey(id)).roster.some((r) => r.handle === "intrus"));
  // Still in the group at its real epoch: messages keep coming both ways.
  await camille.sendText(groupKey(id), "Toujours là.");
  await eventually("sam still reads", async () => (await texts(sam)).includes("Toujours là."));
  await sam.sendText(groupKey(id), "Moi aussi.");
  await eventually("camille reads sam", async () => (await texts(camille)).includes("Moi aussi."));
});

test("a commit that changes a member's account type is refused: a professional stays marked", async () => {
  const before = await f.epoch(sam, id);
  // dr.martin's own commit (an UpdatePath, signed by dr.martin) whose leaf no longer carries the
  // professional mark: sam would otherwise show dr.martin as a peer.
  const forged = await f.forgeCommit(drMartin, id, { ownKind: "peer" });
  const delivery = {
    conversationId: Buffer.from(id, "hex"),
    seq: 100_001n,
    kind: proto.DeliveryKind.COMMIT,
    epoch: before,
    senderDevice: drMartin.account.deviceId,
    serverTimeMs: BigInt(Date.now()),
    payload: forged,
    addedDevices: [],
    removedDevices: [],
    erasedFrom: 0n,
  };
  await f.handBatch(sam, f.wireOf(sam), [delivery]);
  assert.equal(await f.epoch(sam, id), before, "the group did not move");
  const refused = (await events(sam)).find((e) => e.type === "refused" && e.reason === Refusal.ACCOUNT_TYPE_CHANGED);
  assert.deepEqual(refused, { type: "refused", reason: Refusal.ACCOUNT_TYPE_CHANGED, who: "dr.martin" });
  assert.equal(sam.groupView(groupKey(id)).roster.find((r) => r.handle === "dr.martin").professional, true);
});

test("entries erased while a member was away do not stall the stream", async () => {
  sam.stop();
  await alex.sendText(groupKey(id), "Effacé pendant l'absence.");
  await eventually("sent", async () => (await f.groupMessages(alex, id)).some((x) => x.text === "Effacé pendant l'absence." && x.status === "sent"));
  const [gone] = (await f.groupMessages(alex, id)).filter((x) => x.text === "Effacé pendant l'absence.");
  await eventually("camille has it", async () => (await texts(camille)).includes("Effacé pendant l'absence."));
  await f.deleteEntry(camille, id, gone.seq);
  await alex.sendText(groupKey(id), "Après l'effacement.");
  await eventually("sent", async () => (await f.groupMessages(alex, id)).some((x) => x.text === "Après l'effacement." && x.status === "sent"));
  const [last] = (await f.groupMessages(alex, id)).filter((x) => x.text === "Après l'effacement.");
  sam.start();
  await eventually("sam catches up past the erased entry", async () => (await texts(sam)).includes("Après l'effacement."));
  assert.ok(!(await texts(sam)).includes("Effacé pendant l'absence."));
  const meta = f.convsOf(sam).get(id);
  assert.ok(meta.processed >= last.seq, `watermark ${meta.processed} reached ${last.seq}`);
  // The relay's cursor for sam moved too: a new connection re-delivers nothing.
  const info = await f.wireOf(sam).call({ case: "getConversation", value: { conversationId: Buffer.from(id, "hex") } }, "conversation");
  await eventually("acknowledged", async () => {
    const now = await f.wireOf(sam).call({ case: "getConversation", value: { conversationId: Buffer.from(id, "hex") } }, "conversation");
    return Number(now.cursor) >= last.seq;
  });
  assert.ok(info);
});

test("an ERASED delivery covers its whole range in the watermark", async () => {
  const meta = f.convsOf(sam).get(id);
  const start = meta.processed;
  const erased = {
    conversationId: Buffer.from(id, "hex"),
    seq: BigInt(start + 40),
    kind: proto.DeliveryKind.ERASED,
    epoch: 0n,
    senderDevice: 0n,
    serverTimeMs: 0n,
    payload: new Uint8Array(),
    addedDevices: [],
    removedDevices: [],
    erasedFrom: BigInt(start + 1),
  };
  // Applied on a copy of the watermark: the real entries after it must still come.
  const saved = structuredClone(meta);
  await f.handBatch(sam, { fire() {} }, [erased]);
  assert.equal(meta.processed, start + 40);
  await f.handBatch(sam, { fire() {} }, [erased]);  // Again: nothing changes.
  assert.equal(meta.processed, start + 40);
  Object.assign(meta, saved);
});

test("the group's retention deletes older copies on the device", async () => {
  await f.setRules(camille, id, (p) => (p.retentionDays = 1));
  await eventually("sam knows the retention", () => sam.groupView(groupKey(id)).rules.retentionDays === 1);
  assert.ok((await events(sam)).some((e) => e.type === "rulesChanged"));
  assert.ok((await texts(sam)).includes("Bonjour le groupe."));
  // A day later for the relay and for sam's device (a relay's clock alone prunes nothing: attacks-core).
  server.admin("clock", "advance", "25");
  samAhead = 25 * 3_600_000;
  await camille.sendText(groupKey(id), "Un jour plus tard.");
  await eventually("sam reads the new message", async () => (await texts(sam)).includes("Un jour plus tard."));
  await eventually("older messages are gone from sam's device", async () => {
    const stored = await f.storeOf(sam).list("messages", groupKey(id) + "\u0000");
    return stored.every((m) => m.time >= Date.now() + 24 * 3_600_000 - 60_000 || m.status === "pending");
  });
  assert.deepEqual(await texts(sam), ["Un jour plus tard."]);
});
