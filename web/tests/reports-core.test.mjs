// Reports in the client core under node, against the real relay (src/core/reports.ts, seal.ts):
// every leaf carries the device's report key (0xF0A2, 32 bytes) and keeps it across commits; a
// member's report is signed, sealed to each facilitator device's report key, opened, checked and
// kept there, then acknowledged (the relay does not send it again); a report signed by another key,
// or naming another reporter or group, is never kept; a report to the admins shows in cercle-admin,
// and their answer lands beside the message. The seal itself: crypto_box_seal to an X25519 key, or to
// an Ed25519 key's X25519 form (a leaf without a report key), opened with the matching private key.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { facilitator as f, generateKey, groupKey, MemoryStore, Messenger, reports as r } from "../build-node/core.mjs";
import { eventually, startServer } from "./support.mjs";

let server;
const people = [];
let camille, sam, alex;
let id;

async function person(handle, code, store = new MemoryStore()) {
  const m = await Messenger.load({ url: server.ws, store, clientName: "cercle-test-reports", keyPackageStock: 3 });
  if (code) await m.register(handle, { code });
  else m.start();
  assert.ok(await m.waitOnline(10_000));
  people.push(m);
  // Its key packages are uploaded once online: wait for them, or nobody can add it yet.
  await eventually(`${handle}'s key packages`, async () => (await f.wireOf(m).call({ case: "countKeyPackages", value: {} }, "countKeyPackages")).hasLastResort);
  return m;
}

const texts = async (m) => (await f.groupMessages(m, id)).filter((x) => !x.event);
const keptTexts = async (m) => (await r.kept(m, id)).map((x) => x.text);

/** Sends `text` as `from` and waits until `to` holds it; returns its seq there. */
async function said(from, to, text) {
  await from.sendText(groupKey(id), text);
  const msg = await eventually(`${text} arrives`, async () => (await texts(to)).find((x) => x.text === text));
  return msg;
}

before(async () => {
  server = await startServer({ registration: "invite-code", codes: 4 });
  camille = await person("camille", server.codes[0]);
  sam = await person("sam", server.codes[1]);
  alex = await person("alex", server.codes[2]);
  id = await f.createGroup(camille, {}, ["sam", "alex"]);
  await eventually("the members joined", () => f.holdsGroup(sam, id) && f.holdsGroup(alex, id));
});

after(async () => {
  for (const m of people) m.stop();
  await server?.stop();
});

test("crypto_box_seal: to an X25519 key or an Ed25519 key's X25519 form; only the matching key opens it", () => {
  const message = new TextEncoder().encode("un signalement");
  const secret = x25519.utils.randomSecretKey();
  const sealed = r.sealToX25519(r.reportPublicKey(secret), message);
  assert.equal(sealed.length, message.length + 48);
  assert.deepEqual(r.openSealed(secret, sealed), message);
  assert.equal(r.openSealed(x25519.utils.randomSecretKey(), sealed), undefined);
  const changed = sealed.slice();
  changed[40] ^= 1;
  assert.equal(r.openSealed(secret, changed), undefined);
  assert.equal(r.openSealed(secret, sealed.subarray(0, 47)), undefined);
  // A leaf without a report key: sealed to its Ed25519 key, opened by the SDK's converted secret.
  const ed = ed25519.utils.randomSecretKey();
  const toEd = r.sealTo(ed25519.getPublicKey(ed), message);
  assert.deepEqual(r.openSealed(ed25519.utils.toMontgomerySecret(ed), toEd), message);
  // A malformed report key: that leaf is skipped, not sealed to its Ed25519 key.
  const leaf = { leaf: 0, handle: "x", basic: true, signatureKey: ed25519.getPublicKey(ed), professional: false };
  assert.equal(r.sealForLeaf({ ...leaf, reportKey: null }, message), undefined);
  assert.deepEqual(r.openSealed(ed25519.utils.toMontgomerySecret(ed), r.sealForLeaf(leaf, message)), message);
  assert.deepEqual(r.openSealed(secret, r.sealForLeaf({ ...leaf, reportKey: r.reportPublicKey(secret) }, message)), message);
});

test("every leaf carries its device's report key (0xF0A2, 32 bytes), kept across the committer's path updates", async () => {
  const mine = await r.reportKeyOf(camille);
  const check = async () => {
    const leaves = await r.leafReportKeys(sam, id);
    assert.deepEqual(leaves.map((l) => l.handle).sort(), ["alex", "camille", "sam"]);
    for (const l of leaves) assert.equal(l.reportKey?.length, 32, `${l.handle}'s leaf`);
    assert.deepEqual(leaves.find((l) => l.handle === "camille").reportKey, mine.public);
  };
  await check();
  // A commit with an UpdatePath gives camille a new leaf: it keeps the report key.
  const before = await f.epoch(camille, id);
  await f.commitNothing(camille, id);
  await eventually("sam follows the commit", async () => (await f.epoch(sam, id)) > before);
  await check();
});

test("a member's report is kept on the facilitator's device with its text, reason and reporter, then acknowledged", async () => {
  const msg = await said(sam, alex, "un message déplacé");
  await alex.reportMessage(groupKey(id), msg.key, "Ce n'est pas gentil.");
  const kept = await eventually("camille keeps the report", async () => (await r.kept(camille, id))[0]);
  assert.deepEqual([kept.reporter, kept.seq, kept.text, kept.reason, kept.peer], ["alex", msg.seq, "un message déplacé", "Ce n'est pas gentil.", groupKey(id)]);
  assert.ok(kept.time > 0);
  assert.equal(camille.openReports(groupKey(id)), 1);
  assert.equal((await texts(alex)).find((x) => x.key === msg.key).reported, true);
  // Closed on camille's device, then camille signs in again: had it not been acknowledged, the relay
  // would send it again. A second report made after the sign-in is the round trip.
  await (await camille.reports()).close(groupKey(id), kept.id);
  assert.equal(camille.openReports(groupKey(id)), 0);
  camille.stop();
  camille.start();
  assert.ok(await camille.waitOnline(10_000));
  const second = await said(sam, alex, "un deuxième message");
  await alex.reportMessage(groupKey(id), second.key, "");
  await eventually("camille keeps the second report", async () => (await keptTexts(camille)).includes("un deuxième message"));
  assert.deepEqual(await keptTexts(camille), ["un deuxième message"]);
});

test("a forged report (another key's signature, another reporter or group named inside) is never kept", async () => {
  const msg = await said(camille, sam, "un message ordinaire");
  const held = (await keptTexts(camille)).length;
  await r.forge(sam, id, msg.seq, { text: "signé par une autre clé", signer: "other" });
  await r.forge(sam, id, msg.seq, { text: "au nom d'alex", reporter: "alex" });
  await r.forge(sam, id, msg.seq, { text: "un autre groupe", conversationId: new Uint8Array(16).fill(7) });
  // The round trip: a genuine report sent after the forged ones is kept; they were not.
  await r.forge(sam, id, msg.seq, { text: "un vrai signalement" });
  await eventually("camille keeps the genuine one", async () => (await keptTexts(camille)).includes("un vrai signalement"));
  const all = await keptTexts(camille);
  assert.equal(all.length, held + 1, JSON.stringify(all));
  assert.equal(camille.openReports(groupKey(id)), held + 1);
});

test("the checks one by one: each forged content gets its refusal", async () => {
  const conversationId = Buffer.from(id, "hex");
  const { public: camilleKey } = await r.reportKeyOf(camille);
  const seal = async (content, key) => r.sealToX25519(camilleKey, await r.signedReport(content, key));
  const content = { conversationId, seq: 1, text: "t", reason: "", reporter: "sam" };
  const own = (m) => m.account.mlsKey;
  assert.deepEqual(await r.open(camille, id, { conversationId, reporter: "sam", sealed: await seal(content, own(sam)) }), { content: { ...content, conversationId: new Uint8Array(conversationId) } });
  assert.deepEqual(await r.open(camille, id, { conversationId, reporter: "sam", sealed: await seal(content, await generateKey()) }), { refused: "signature" });
  assert.deepEqual(await r.open(camille, id, { conversationId, reporter: "alex", sealed: await seal(content, own(sam)) }), { refused: "otherReporter" });
  assert.deepEqual(await r.open(camille, id, { conversationId: new Uint8Array(16), reporter: "sam", sealed: await seal(content, own(sam)) }), { refused: "otherGroup" });
  assert.deepEqual(await r.open(camille, id, { conversationId, reporter: "sam", sealed: r.sealToX25519(camilleKey, r.encodeReport(content)) }), { refused: "unreadable" });
  assert.deepEqual(await r.open(camille, id, { conversationId, reporter: "sam", sealed: r.sealToX25519(r.reportPublicKey(new Uint8Array(32).fill(3)), new Uint8Array(8)) }), { refused: "unopened" });
  // Signed by alex's own key but naming sam: alex's signature is not one of sam's leaves.
  assert.deepEqual(await r.open(camille, id, { conversationId, reporter: "sam", sealed: await seal(content, own(alex)) }), { refused: "signature" });
});

test("a report to the admins shows in cercle-admin with the one message; their answer lands beside it", async () => {
  const msg = await said(alex, sam, "un message grave");
  const number = await sam.reportToAdmins(groupKey(id), msg.key, "Menace.");
  const listed = server.admin("report", "list");
  assert.match(listed, new RegExp(`^#${number}\\tsam\\tconversation ${id} message ${msg.seq}\\n  text: un message grave\\n  reason: Menace\\.\\n  answer:\\s*$`, "m"));
  assert.equal((await texts(sam)).find((x) => x.key === msg.key).adminReport, number);
  const news = [];
  sam.onReport((n) => news.push(n));
  server.admin("report", "answer", number, "Nous avons regardé. Merci.");
  await eventually("sam has the answer", async () => (await texts(sam)).find((x) => x.key === msg.key).adminAnswer === "Nous avons regardé. Merci.");
  assert.deepEqual(news, [{ kind: "answered", peer: groupKey(id) }]);
});
