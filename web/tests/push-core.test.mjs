// Issue 15 item 2, the client core's side (core/push.ts) under node against the real relay: a
// device sends its Web Push subscription (synthetic keys: a real P-256 point from WebCrypto, a
// 16-byte auth, an endpoint on a public push service's name) and the relay answers `done`; bad keys
// are refused by the client before anything is sent, and by the relay (INVALID_ARGUMENT) when sent
// anyway; withdrawing it is `done`; an instance with push off gives no key and refuses (FORBIDDEN).
// The device's choices stay in its own store, off and neutral by default.
import assert from "node:assert/strict";
import { webcrypto } from "node:crypto";
import { test } from "node:test";
import { ErrorCode, facilitator as f, MemoryStore, Messenger, RelayError } from "../build-node/core.mjs";
import { ASSOCIATION, serverFor } from "./support.mjs";

/** A signed-in device; `sent` lists the requests its connection sends (by kind), from now on. */
async function device(t, server, handle) {
  const store = new MemoryStore();
  const m = await Messenger.load({ url: server.ws, store, clientName: "cercle-test-push-core", keyPackageStock: 2 });
  t.after(() => m.stop());
  await m.register(handle);
  assert.ok(await m.waitOnline(10_000));
  const wire = f.wireOf(m);
  const sent = [];
  const call = wire.call.bind(wire);
  wire.call = (request, ...rest) => {
    sent.push(request.case);
    return call(request, ...rest);
  };
  return { m, store, wire, sent };
}

/** What a browser's PushSubscription gives: a fresh P-256 public key, uncompressed, and 16 random bytes. */
async function subscriptionKeys(endpoint = "https://push.example.net/wpush/v2/gAAAAABl-synthetic") {
  const pair = await webcrypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
  const p256dh = new Uint8Array(await webcrypto.subtle.exportKey("raw", pair.publicKey));
  return { endpoint, p256dh, auth: webcrypto.getRandomValues(new Uint8Array(16)) };
}

const refusedBy = (field) => (e) => e.name === "SubscriptionRefused" && e.field === field;
const relayRefuses = (code) => (e) => e instanceof RelayError && e.code === code;

test("a device sends its subscription and withdraws it; the relay answers done", async (t) => {
  const server = await serverFor(t, { registration: "open", association: ASSOCIATION });
  const { m, store, sent } = await device(t, server, "dana");
  const push = await m.push();
  assert.equal(push.publicKey.length, 65, "the instance's VAPID key, an uncompressed P-256 point");
  assert.equal(push.publicKey[0], 0x04);
  assert.deepEqual(await push.choices(), { on: false, showSender: false, showGroup: false, lang: "fr" }, "off and neutral by default");
  const keys = await subscriptionKeys();
  assert.equal(keys.p256dh.length, 65);
  await push.register(keys);
  await push.register(await subscriptionKeys("https://updates.push.example.org/w/2"));  // A new one replaces the old.
  await push.unregister();
  await push.unregister();  // Also when there is none.
  assert.deepEqual(sent, ["registerPushSubscription", "registerPushSubscription", "unregisterPushSubscription", "unregisterPushSubscription"]);
  // The choices are this device's: in its store, never in a request.
  await push.saveChoices({ on: true, showSender: true, showGroup: false, lang: "en" });
  assert.deepEqual(await store.get("kv", "notifications"), { on: true, showSender: true, showGroup: false, lang: "en" });
  assert.deepEqual(sent.slice(4), [], "saving choices sends nothing");
});

test("bad keys are refused by the client before sending, and by the relay with INVALID_ARGUMENT", async (t) => {
  const server = await serverFor(t, { registration: "open", association: ASSOCIATION });
  const { m, wire, sent } = await device(t, server, "dana");
  const push = await m.push();
  const good = await subscriptionKeys();
  const notOnCurve = new Uint8Array(65).fill(1);
  notOnCurve[0] = 0x04;
  const compressed = good.p256dh.slice(0, 33);
  compressed[0] = 0x02;
  const bad = [
    ["endpoint", { ...good, endpoint: "http://push.example.net/wpush/1" }],
    ["endpoint", { ...good, endpoint: "https://user:secret@push.example.net/wpush/1" }],
    ["endpoint", { ...good, endpoint: `https://push.example.net/${"a".repeat(2048)}` }],
    ["endpoint", { ...good, endpoint: "pas une adresse" }],
    ["p256dh", { ...good, p256dh: notOnCurve }],
    ["p256dh", { ...good, p256dh: compressed }],
    ["p256dh", { ...good, p256dh: good.p256dh.slice(0, 64) }],
    ["auth", { ...good, auth: good.auth.slice(0, 15) }],
    ["auth", { ...good, auth: new Uint8Array(17) }],
  ];
  for (const [field, keys] of bad) {
    await assert.rejects(push.register(keys), refusedBy(field), `${field}: ${keys.endpoint.slice(0, 40)}`);
  }
  assert.deepEqual(sent, [], "nothing sent for any of them");
  // Sent anyway (as another client could), the relay refuses each one too.
  for (const [field, keys] of bad) {
    const value = { endpoint: keys.endpoint, p256dh: keys.p256dh, auth: keys.auth };
    await assert.rejects(wire.call({ case: "registerPushSubscription", value }, "done"), relayRefuses(ErrorCode.INVALID_ARGUMENT), field);
  }
  // What only the relay can tell: an address that is not public.
  for (const endpoint of ["https://127.0.0.1/wpush/1", "https://10.1.2.3/wpush/1", "https://[::1]/wpush/1"]) {
    await assert.rejects(push.register({ ...good, endpoint }), relayRefuses(ErrorCode.INVALID_ARGUMENT), endpoint);
  }
  await push.register(good);  // The connection is still fine: the good one is taken.
});

test("an instance with push off gives no key and refuses a subscription (FORBIDDEN)", async (t) => {
  const server = await serverFor(t, { registration: "open" });  // No [push] subject nor association page: push stays off.
  const { m } = await device(t, server, "dana");
  const push = await m.push();
  assert.equal(push.publicKey.length, 0);
  await assert.rejects(push.register(await subscriptionKeys()), relayRefuses(ErrorCode.FORBIDDEN));
});
