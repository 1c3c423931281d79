// The group's start (Commit.genesis) in the client core under node, against the real relay: a
// conversation the web client opens tells the relay how its MLS group started, so that the relay
// follows the group's public state and refuses any proposal or commit whose signature is not its
// sender leaf's (FORBIDDEN); a relay without that start lets a spoiled signature through. The same
// message, signed, is accepted: the relay's view (the epoch-0 context and tree, and the epoch-1
// confirmed transcript hash, all from the genesis) matches the members' group. A professional's own
// leaf carries the account type 0xF0A1, which the relay checks in the genesis tree (check_leaf_owner).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ErrorCode, facilitator as f, groupKey, MemoryStore, Messenger, proto, RelayError } from "../build-node/core.mjs";
import { eventually, startServer } from "./support.mjs";

const { PROPOSAL } = proto.DeliveryKind;

let server;
const people = [];
let camille, sam, alex, drMartin;

async function person(handle, code) {
  const m = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "cercle-test-genesis", keyPackageStock: 3 });
  await m.register(handle, { code });
  assert.ok(await m.waitOnline(10_000));
  people.push(m);
  return m;
}

/** Sends `payload` as a PROPOSAL of conversation `id` from `m`'s device; resolves to the relay's answer. */
async function sendProposal(m, id, payload) {
  const value = { conversationId: Buffer.from(id, "hex"), epoch: await f.epoch(m, id), payload, kind: PROPOSAL };
  return f.wireOf(m).call({ case: "send", value }, "send");
}

/** Sends `commit` (adding and removing nobody) for conversation `id` from `m`'s device. */
async function sendCommit(m, id, commit) {
  const value = { conversationId: Buffer.from(id, "hex"), epoch: await f.epoch(m, id), commit };
  return f.wireOf(m).call({ case: "commit", value }, "commit");
}

/** The relay's refusal code of `promise` (which must be refused). */
async function refusal(promise) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof RelayError, `a relay refusal, not ${e}`);
    return e.code;
  }
  assert.fail("the relay accepted it");
}

/**
 * `member` of conversation `id`: a proposal and a commit with a spoiled signature are refused as
 * FORBIDDEN; the same proposal signed is accepted.
 */
async function relayVerifiesSignatures(member, id) {
  const update = await f.forgeUpdate(member, id, {});
  assert.equal(await refusal(sendProposal(member, id, f.spoilSignature(update))), ErrorCode.FORBIDDEN, "a spoiled proposal");
  const commit = await f.forgeCommit(member, id, {});
  assert.equal(await refusal(sendCommit(member, id, f.spoilSignature(commit))), ErrorCode.FORBIDDEN, "a spoiled commit");
  const res = await sendProposal(member, id, update);
  assert.ok(res.seq > 0n, "the same proposal, signed, is accepted");
}

/** The direct conversation `creator` opened with `peer`, once `peer`'s device joined it. */
async function openDirect(creator, peer) {
  assert.equal(await creator.startConversation(peer.account.handle), peer.account.handle);
  const id = f.directId(creator, peer.account.handle);
  assert.ok(id, "the creator holds the conversation");
  await eventually(`${peer.account.handle} joined`, () => f.directId(peer, creator.account.handle) === id);
  return id;
}

before(async () => {
  server = await startServer({ registration: "invite-code", codes: 4 });
  camille = await person("camille", server.codes[0]);
  sam = await person("sam", server.codes[1]);
  alex = await person("alex", server.codes[2]);
  drMartin = await person("dr.martin", server.codes[3]);
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

test("a direct conversation opened by the web client: the relay refuses a member's spoiled signature", async () => {
  const id = await openDirect(camille, sam);
  await relayVerifiesSignatures(sam, id);
  // The conversation goes on.
  await camille.sendText("sam", "Toujours là ?");
  await eventually("sam reads camille", async () => (await sam.messages("camille")).some((x) => x.text === "Toujours là ?"));
});

test("a group created by the node-side facilitator: the relay refuses a member's spoiled signature", async () => {
  const id = await f.createGroup(camille, { charter: "Ici, on s'écoute." }, ["alex"]);
  await eventually("alex joined", () => alex.groupView(groupKey(id))?.roster.length === 2);
  await relayVerifiesSignatures(alex, id);
  await f.setRules(camille, id, (p) => (p.charter = "Ici, on s'écoute vraiment."));
  await alex.sendText(groupKey(id), "Bonjour.");
  await eventually("camille reads alex", async () => (await f.groupMessages(camille, id)).some((x) => x.text === "Bonjour."));
});

test("a professional opens a direct conversation: its leaf is marked, the relay accepts the start", async () => {
  // The relay refuses a genesis whose creator leaf lacks the professional mark (check_leaf_owner):
  // that it accepted this one shows in its checking the signatures of the conversation.
  const id = await openDirect(drMartin, sam);
  await relayVerifiesSignatures(sam, id);
  await drMartin.sendText("sam", "Bonjour, je suis infirmier.");
  const got = await eventually("sam reads dr.martin", async () => (await sam.messages("dr.martin")).find((x) => x.text === "Bonjour, je suis infirmier."));
  assert.equal(got.sender, "dr.martin");
  assert.equal(got.professional, true, "dr.martin's leaf says professional");
});
