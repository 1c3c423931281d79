// The device chain in the client core under node, against the real relay (issue 11, defect 4):
// registration sends link 0 and pins it; a backup's export and import add signed links; a relay
// (the double, tests/relay-double.mjs) that shows a device outside the chain, a link it signed
// itself, another chain, or no chain (pinned or not) makes the conversation refused with the
// chain's code, and nothing is created or committed; pairing a new device between two cores, with a
// wrong code refused (nothing added) and the right one approving it.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { create, devices, deviceChain as dc, facilitator as f, generateKey, MemoryStore, Messenger, proto } from "../build-node/core.mjs";
import { startRelayDouble } from "./relay-double.mjs";
import { eventually, startServer, within } from "./support.mjs";

let server, double;
const people = [];

async function person(handle, { code, store = new MemoryStore(), url = server.ws } = {}) {
  const m = await Messenger.load({ url, store, clientName: "cercle-test-devices", keyPackageStock: 3 });
  await m.register(handle, { code });
  assert.ok(await m.waitOnline(10_000));
  people.push(m);
  return { m, store };
}

/** Starts a conversation once the peer's key packages are up (they are sent just after sign-in). */
const start = (m, peer) => eventually(`a conversation with ${peer}`, () => m.startConversation(peer));

const doubleWs = () => `${double.url.replace("http:", "ws:")}/ws`;

before(async () => {
  server = await startServer({ registration: "open" });
  double = await startRelayDouble(server);
});

after(async () => {
  for (const m of people) m.stop();
  await double?.stop();
  await server?.stop();
});

test("registration sends link 0; a first contact pins the chain; backups add signed links", async () => {
  const { m: alex, store: alexStore } = await person("Alex");
  const { m: sam, store: samStore } = await person("sam");
  const mine = await alex.ownDevices();
  assert.equal(mine.length, 1);
  assert.equal(mine[0].self, true);
  const alexPin = await alexStore.get("kv", "chainPin/alex");
  assert.equal(alexPin.length, 1);
  await start(sam, "alex");  // Typed in another case: the pin is under the stored handle.
  const pinned = await samStore.get("kv", "chainPin/alex");
  assert.deepEqual(pinned, alexPin);
  assert.equal(await samStore.get("kv", "chainPin/Alex"), undefined);  // Kept under the folded handle.
  // A backup is a device of the chain, added by this device; restoring adds the new browser.
  const backup = await alex.exportBackup("une phrase secrète assez longue");
  assert.equal((await alex.ownDevices()).length, 2);
  const restoredStore = new MemoryStore();
  const restored = await Messenger.load({ url: server.ws, store: restoredStore, clientName: "cercle-test-devices", keyPackageStock: 3 });
  people.push(restored);
  await restored.importBackup(backup, "une phrase secrète assez longue");
  assert.ok(await restored.waitOnline(10_000));
  const now = await restored.ownDevices();
  assert.equal(now.length, 3);
  assert.deepEqual(now.map((d) => d.self), [false, false, true]);
  assert.equal((await restoredStore.get("kv", "chainPin/alex")).length, 3);
  // The chain grew: sam's next contact accepts it and grows its pin.
  await eventually("the restored device has key packages", async () => (await restored.ownDevices()).length === 3);
  const { m: noa, store: noaStore } = await person("noa");
  await start(noa, "Alex");
  assert.equal((await noaStore.get("kv", "chainPin/alex")).length, 3);
});

test("a device added meanwhile (CHAIN_CONFLICT): the chain is read again and the link signed anew", async () => {
  const { m: ray } = await person("ray", { url: doubleWs() });
  // Ray's second device, which adds a device while the first one's AddDevice is held.
  const other = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "cercle-test-devices", keyPackageStock: 3 });
  people.push(other);
  await other.importBackup(await ray.exportBackup("une phrase secrète assez longue"), "une phrase secrète assez longue");
  assert.ok(await other.waitOnline(10_000));
  assert.equal((await ray.ownDevices()).length, 3);
  let release;
  const released = new Promise((r) => (release = r));
  double.hold = (kind) => {
    if (kind !== "addDevice") return undefined;
    double.hold = () => undefined;
    return released;
  };
  const from = double.requests.length;
  const first = ray.exportBackup("une autre phrase assez longue");
  await eventually("ray's AddDevice is held", () => double.requests.slice(from).includes("addDevice"));
  await other.exportBackup("encore une phrase assez longue");  // Link 3 is this one.
  release();
  await within(20_000, "ray's backup", first);
  // Two AddDevice from ray: the first refused (CHAIN_CONFLICT), the second signed over link 3.
  assert.equal(double.requests.slice(from).filter((k) => k === "addDevice").length, 2);
  assert.equal((await ray.ownDevices()).length, 5);
});

test("a new device its owner's chain does not list is marked and announced as unconfirmed", async () => {
  const { m: rin } = await person("rin");
  const { m: tao } = await person("tao");
  await start(tao, "rin");
  const id = f.directId(tao, "rin");
  await eventually("rin joined", () => f.directId(rin, "tao") === id);
  // A device rin's chain lists (a restored backup) joins: announced, not marked.
  const rin2 = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "cercle-test-devices", keyPackageStock: 3 });
  people.push(rin2);
  await rin2.importBackup(await rin.exportBackup("une phrase secrète assez longue"), "une phrase secrète assez longue");
  assert.ok(await rin2.waitOnline(10_000));
  await eventually("rin2 added", () => f.addDevices(tao, id, "rin", [rin2.account.deviceId]).then(() => true).catch(() => false));
  // Rin's client (as a relay that lets it through would hand it over) adds a device of "rin" that
  // rin's chain never approved.
  const ghost = await f.newGhost("rin");
  const epoch = await f.epoch(tao, id);
  await eventually("rin follows", async () => (await f.epoch(rin, id)) === epoch);
  const { commit } = await f.forgeGhostCommit(rin, id, ghost, "public");
  await f.deliver(tao, [f.delivery(id, 1_000_000, proto.DeliveryKind.COMMIT, await f.epoch(tao, id), rin, commit)]);
  const rinSeen = () => tao.people("rin").find((p) => p.handle === "rin");
  await eventually("the unconfirmed device is marked", () => rinSeen()?.unapproved.length === 1);
  const [fingerprint] = rinSeen().unapproved;
  assert.equal(rinSeen().devices.length, 3);
  assert.ok(rinSeen().devices.includes(fingerprint));
  const events = (await tao.messages("rin")).filter((x) => x.event).map((x) => x.event);
  const approved = rinSeen().devices.filter((d) => d !== fingerprint && events.some((e) => e.type === "newDevice" && e.fingerprint === d));
  assert.equal(approved.length, 1);
  // Both were checked together (the ghost's delivery ran the check): only the ghost is marked.
  assert.deepEqual(events, [
    { type: "newDevice", who: "rin", fingerprint: approved[0], self: false, verifyAgain: false },
    { type: "newDevice", who: "rin", fingerprint, self: false, verifyAgain: false },
    { type: "unapprovedDevice", who: "rin", fingerprint, self: false },
  ]);
});

/** Sam as a relay would show it through the double, for one fetch: `edit(result)`. */
function onNextFetch(handle, edit) {
  double.rewriteResponse = (response) => {
    const r = response.result;
    if (r.case === "fetchKeyPackages" && r.value.account?.handle === handle) {
      double.rewriteResponse = () => {};
      edit(r.value);
    }
  };
}

async function refusedWith(m, peer, code) {
  const from = double.requests.length;
  await assert.rejects(m.startConversation(peer), (e) => {
    assert.ok(e instanceof devices.DeviceChainRefused, String(e));
    assert.equal(e.code, code);
    return true;
  });
  // Nothing was created nor committed (the fetch was the last request).
  const after = double.requests.slice(from);
  assert.ok(!after.includes("createConversation") && !after.includes("commit"), after.join(","));
  assert.equal(m.threads().filter((t) => t.peer === peer).length, 0);
}

test("a relay that adds a device, signs a link, swaps or drops the chain is refused and nothing is committed", async () => {
  await person("kim");
  await person("max");
  const { m: lou, store: louStore } = await person("lou", { url: doubleWs() });
  // A hidden device: a key package of "kim" whose key the chain does not list.
  const ghost = await f.newGhost("kim");
  let kimChain;
  onNextFetch("kim", (v) => {
    kimChain = v.account.chain.slice();
    v.keyPackages.push(create(proto.FetchedKeyPackageSchema, { deviceId: 999n, data: ghost.stored.encoded }));
  });
  await refusedWith(lou, "kim", "notInChain");
  assert.equal(kimChain.length, 1);
  assert.equal(await louStore.get("kv", "chainPin/kim"), undefined);  // A refused chain pins nothing.
  // A link the relay signed itself (its key is no device of kim's).
  const relayKey = await generateKey();
  const first = (await dc.verifyChain("kim", kimChain)).view;
  const forged = await dc.makeLink(first, "kim", proto.DeviceLinkOp.DEVICE_ADD, relayKey.publicKey, relayKey.publicKey, 1n, relayKey,
    await dc.signPossession("kim", relayKey.publicKey, relayKey.publicKey, relayKey));
  onNextFetch("kim", (v) => v.account.chain.push(forged));
  await refusedWith(lou, "kim", "notApproved");
  // No chain at all for an account never pinned: every account has one, so the relay hid it.
  onNextFetch("kim", (v) => (v.account.chain = []));
  await refusedWith(lou, "kim", "noChain");
  assert.equal(await louStore.get("kv", "chainPin/kim"), undefined);
  // The honest relay: the first contact pins kim's chain and the conversation opens.
  assert.equal(await start(lou, "kim"), "kim");
  assert.equal((await louStore.get("kv", "chainPin/kim")).length, 1);
  // Max's chain as lou would have pinned it at an earlier contact; then a relay showing another
  // chain for max (valid, another root), or none at all, is refused.
  let maxChain;
  const maxGhost = await f.newGhost("max");
  onNextFetch("max", (v) => {
    maxChain = v.account.chain.slice();
    v.keyPackages.push(create(proto.FetchedKeyPackageSchema, { deviceId: 999n, data: maxGhost.stored.encoded }));
  });
  await refusedWith(lou, "max", "notInChain");
  await louStore.write([{ table: "kv", key: "chainPin/max", value: dc.pinOf((await dc.verifyChain("max", maxChain)).view) }]);
  const other = await generateKey();
  const otherMls = await generateKey();
  const swapped = await dc.makeLink(dc.emptyView(), "max", proto.DeviceLinkOp.DEVICE_ADD, other.publicKey, otherMls.publicKey, 1n, other,
    await dc.signPossession("max", other.publicKey, otherMls.publicKey, other));
  onNextFetch("max", (v) => (v.account.chain = [swapped]));
  await refusedWith(lou, "max", "rootChanged");
  onNextFetch("max", (v) => (v.account.chain = []));
  await refusedWith(lou, "max", "rootChanged");
  // The honest relay again: the pinned chain is accepted.
  assert.equal(await start(lou, "max"), "max");
});

test("pairing: the new device shows a code, a wrong code adds nothing, the right one adds it", async () => {
  const { m: eve, store: eveStore } = await person("Ève");
  const newStore = new MemoryStore();
  // Through the double, to see the new device's key packages accepted (signed with its chain's MLS key).
  let uploaded = false;
  double.rewriteResponse = (r) => (uploaded ||= r.result.case === "uploadKeyPackages");
  const fresh = await Messenger.load({ url: doubleWs(), store: newStore, clientName: "cercle-test-devices", keyPackageStock: 3 });
  people.push(fresh);
  let shown;
  // The handle as the account shows it (the relay checks the proof under the stored handle).
  const joined = fresh.joinAccount("Ève", { onCode: (c) => (shown = c) });
  joined.catch(() => {});
  // The account's device sees the request (the handle as stored), and starts approving it.
  const [request] = await eventually("the request is listed", async () => {
    const list = await eve.deviceRequests();
    return list.length === 1 && list;
  });
  assert.equal(request.handle, "Ève");
  const approval = await within(20_000, "the new device's nonce", eve.startApproval(request));
  await eventually("the new device shows its code", () => shown);
  assert.match(shown, /^\d{3} \d{3}$/);
  // A wrong code: refused, nothing added (the chain keeps one device, the request no device id).
  const wrong = shown.replace(/^\d/, (d) => String((Number(d) + 1) % 10));
  await assert.rejects(eve.finishApproval(approval, wrong), (e) => e instanceof devices.WrongPairingCode && e.triesLeft === 2);
  assert.equal((await eve.ownDevices()).length, 1);
  assert.equal((await eve.deviceRequests())[0].deviceId, 0n);
  // The right code (typed without its space) adds the device; it signs in as a device of Ève.
  await eve.finishApproval(approval, shown.replace(" ", ""));
  await within(20_000, "the new device to join", joined);
  assert.ok(await fresh.waitOnline(10_000));
  assert.equal(fresh.account.handle, "Ève");
  const seen = await fresh.ownDevices();
  assert.deepEqual(seen.map((d) => d.self), [false, true]);
  assert.equal((await newStore.get("kv", "chainPin/ève")).length, 2);
  assert.equal((await eveStore.get("kv", "chainPin/ève")).length, 2);
  // The approval is spent: typing the code again adds nothing more.
  await assert.rejects(eve.finishApproval(approval, shown), (e) => e instanceof devices.WrongPairingCode && e.triesLeft === 0);
  // Others can open a conversation with Ève: both devices are in the chain.
  await eventually("the new device's key packages are accepted", () => uploaded);
  double.rewriteResponse = () => {};
  const { m: zoe } = await person("zoe");
  await start(zoe, "Ève");
  await eventually("both devices of Ève are in the conversation", () => zoe.people("Ève").find((p) => p.handle === "Ève")?.devices.length === 2);
});
