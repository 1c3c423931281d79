// Devices and safety numbers in the client core under node, against the real relay (issue 11,
// defect 4): the fixed vectors of docs/safety-numbers.md; each person's devices from the MLS leaves
// of a direct conversation; a new device of someone already in it is announced (starting the
// conversation is not); a verified person whose devices change is "to verify again" until verified
// again; the verification is kept in the store. (Groups take the same path: their devices are
// tracked after each commit, and their roster shows them.)
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { facilitator as f, MemoryStore, Messenger, verify } from "../build-node/core.mjs";
import { eventually, startServer } from "./support.mjs";

let server;
const people = [];
let alex, sam, alexStore, samBackup;

async function person(handle, code, store = new MemoryStore()) {
  const m = await Messenger.load({ url: server.ws, store, clientName: "cercle-test-verify", keyPackageStock: 3 });
  await m.register(handle, { code });
  assert.ok(await m.waitOnline(10_000));
  people.push(m);
  return m;
}

const events = async (m, peer) => (await m.messages(peer)).filter((x) => x.event).map((x) => x.event);
const personOf = (m, peer, handle) => m.people(peer).find((p) => p.handle === handle);

before(async () => {
  server = await startServer({ registration: "invite-code", codes: 4 });
  alexStore = new MemoryStore();
  alex = await person("alex", server.codes[0], alexStore);
  sam = await person("sam", server.codes[1]);
  // A backup made now (before any conversation) becomes sam's second device later.
  samBackup = await sam.exportBackup("une phrase secrète assez longue");
});

after(async () => {
  for (const m of people) m.stop();
  await server?.stop();
});

test("safety numbers and fingerprints match the documented vectors", () => {
  const k = (b) => new Uint8Array(32).fill(b);
  const expected = "75764 70173 91490 31946 07898 92567 50130 99322 47616 07355 87788 11788";
  assert.equal(verify.safetyNumber({ handle: "alice", keys: [k(3), k(1)] }, { handle: "bob", keys: [k(2)] }), expected);
  assert.equal(verify.safetyNumber({ handle: "bob", keys: [k(2)] }, { handle: "alice", keys: [k(1), k(3)] }), expected);
  assert.equal(verify.deviceFingerprint(k(1)), "90852 78491 51192");
  assert.equal(verify.deviceFingerprint(k(2)), "41290 34959 26267");
  const counting = Uint8Array.from({ length: 32 }, (_, i) => i);
  assert.equal(
    verify.safetyNumber({ handle: "élise", keys: [counting] }, { handle: "bob", keys: [k(2)] }),
    "43338 50578 65703 32019 92176 27291 49290 15613 02599 09531 61039 05004",
  );
  // Every device counts; a key listed twice is one device.
  const base = verify.safetyNumber({ handle: "alice", keys: [k(1)] }, { handle: "bob", keys: [k(2)] });
  assert.notEqual(verify.safetyNumber({ handle: "alice", keys: [k(1), k(3)] }, { handle: "bob", keys: [k(2)] }), base);
  assert.equal(verify.safetyNumber({ handle: "alice", keys: [k(1), k(1)] }, { handle: "bob", keys: [k(2)] }), base);
});

test("each person's devices are shown, and both sides compute the same number", async () => {
  await alex.sendText("sam", "bonjour");
  await eventually("sam has the conversation", () => sam.people("alex").length === 2);
  await eventually("alex has the conversation", () => alex.people("sam").length === 2);
  for (const who of ["alex", "sam"]) assert.equal(personOf(sam, "alex", who).devices.length, 1, who);
  assert.equal(personOf(sam, "alex", "alex").verification, "unverified");
  assert.equal(personOf(sam, "alex", "sam").verification, undefined);  // Nobody verifies themselves.
  const fromAlex = alex.safetyNumber("sam", "sam");
  const fromSam = sam.safetyNumber("alex", "alex");
  assert.match(fromAlex.number, /^(\d{5} ){11}\d{5}$/);
  assert.equal(fromAlex.number, fromSam.number);
  assert.deepEqual(fromAlex.devices, fromSam.ownDevices);
  assert.equal(alex.safetyNumber("sam", "alex"), undefined);
  assert.equal(alex.safetyNumber("sam", "personne"), undefined);
  // Starting the conversation is not a "new device".
  assert.deepEqual(await events(sam, "alex"), []);
});

test("a verified person with a new device is announced and to verify again", async () => {
  const before = alex.safetyNumber("sam", "sam");
  const wrong = before.number.replace(/^\d/, (d) => String((Number(d) + 1) % 10));
  await assert.rejects(alex.markVerified("sam", "sam", wrong), /not the current safety number/);
  assert.equal(personOf(alex, "sam", "sam").verification, "unverified");
  await alex.markVerified("sam", "sam", before.number);
  assert.equal(personOf(alex, "sam", "sam").verification, "verified");

  // sam gets a second device, which joins the conversation (here alex's client adds it).
  const sam2 = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "cercle-test-verify", keyPackageStock: 3 });
  people.push(sam2);
  await sam2.importBackup(samBackup, "une phrase secrète assez longue");
  assert.ok(await sam2.waitOnline(10_000));
  const id = f.directId(alex, "sam");
  await eventually("sam2 added", () => f.addDevices(alex, id, "sam", [sam2.account.deviceId]).then(() => true).catch(() => false));

  await eventually("alex sees sam's second device", () => personOf(alex, "sam", "sam")?.devices.length === 2);
  const added = personOf(alex, "sam", "sam").devices.find((d) => !before.devices.includes(d));
  assert.deepEqual(
    (await events(alex, "sam")).filter((e) => e.type === "newDevice"),
    [{ type: "newDevice", who: "sam", fingerprint: added, self: false, verifyAgain: true }],
  );
  assert.equal(personOf(alex, "sam", "sam").verification, "changed");
  const now = alex.safetyNumber("sam", "sam");
  assert.notEqual(now.number, before.number);
  assert.equal(now.devices.length, 2);
  // sam's first device is told that its own account has a new device.
  await eventually("sam is told", async () => (await events(sam, "alex")).some((e) => e.type === "newDevice"));
  assert.deepEqual(await events(sam, "alex"), [{ type: "newDevice", who: "sam", fingerprint: added, self: true, verifyAgain: false }]);
  assert.equal(sam.safetyNumber("alex", "alex").number, now.number);

  // The old number verifies nobody now; the new one does, and it is kept in the store.
  await assert.rejects(alex.markVerified("sam", "sam", before.number), /not the current safety number/);
  await alex.markVerified("sam", "sam", now.number);
  assert.equal(personOf(alex, "sam", "sam").verification, "verified");
  const reloaded = await Messenger.load({ url: server.ws, store: alexStore });
  assert.equal(reloaded.people("sam").find((p) => p.handle === "sam").verification, "verified");
  // A conversation stored before devices were tracked starts from the devices its state holds.
  const legacy = new MemoryStore();
  for (const table of ["kv", "convs", "groups"]) {
    const keys = table === "kv" ? ["account"] : (await alexStore.list("convs")).map((c) => c.id);
    for (const key of keys) {
      const value = await alexStore.get(table, key);
      if (table === "convs") delete value.devices;
      await legacy.write([{ table, key, value }]);
    }
  }
  const upgraded = await Messenger.load({ url: server.ws, store: legacy });
  assert.equal(upgraded.people("sam").find((p) => p.handle === "sam").devices.length, 2);
  // A round trip after the change brings no second announcement.
  await sam.sendText("alex", "après l'ajout");
  await eventually("alex reads sam", async () => (await alex.messages("sam")).some((x) => x.text === "après l'ajout"));
  assert.equal((await events(alex, "sam")).filter((e) => e.type === "newDevice").length, 1);
});
