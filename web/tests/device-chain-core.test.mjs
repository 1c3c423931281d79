// The device chain library (src/core/device-chain.ts) under node, no relay: it must agree byte for
// byte with the C++ reference (lib/policy/device_chain.cpp) on the shared vectors
// lib/policy/device_chain.json (transcripts, link hashes, commitment, pairing code), accept
// the vectors' chain, and refuse tampered copies with the same codes as ChainErrc.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { create, deviceChain as dc, generateKey, proto } from "../build-node/core.mjs";
import { ed25519 } from "@noble/curves/ed25519.js";
import { WEB } from "./support.mjs";

const vectors = JSON.parse(readFileSync(join(WEB, "../lib/policy/device_chain.json"), "utf8"));
const hex = (b) => Buffer.from(b).toString("hex");
const bytes = (h) => new Uint8Array(Buffer.from(h, "hex"));
const handle = vectors.handle;

function linkOf(v) {
  return create(proto.DeviceLinkSchema, {
    seq: BigInt(v.seq),
    previousHash: bytes(v.previous_hash),
    op: v.op,
    deviceKey: bytes(v.device_key),
    mlsKey: bytes(v.mls_key),
    timeMs: BigInt(v.time_ms),
    signerKey: bytes(v.signer_key),
    signature: bytes(v.signature),
    possession: bytes(v.possession),
  });
}
const links = () => vectors.links.map(linkOf);

async function refusal(check) {
  const c = await check;
  assert.equal(c.ok, false, "expected a refusal");
  return c.refusal.code;
}

test("transcripts, hashes, commitment and pairing code equal the C++ vectors", async () => {
  for (const [i, v] of vectors.links.entries()) {
    assert.equal(hex(dc.linkTranscript(handle, linkOf(v))), v.transcript, `transcript ${i}`);
    assert.equal(hex(dc.linkHash(handle, linkOf(v))), vectors.hashes[i], `hash ${i}`);
  }
  assert.equal(hex(dc.commitment(bytes(vectors.device_nonce))), vectors.commitment);
  const l = vectors.links[vectors.code_for_link];
  const code = dc.pairingCode(handle, bytes(l.device_key), bytes(l.mls_key), bytes(vectors.device_nonce), bytes(vectors.approver_nonce));
  assert.equal(code, vectors.code);
  assert.match(code, /^\d{3} \d{3}$/);
  // Every input counts.
  assert.notEqual(dc.pairingCode(handle, bytes(l.mls_key), bytes(l.device_key), bytes(vectors.device_nonce), bytes(vectors.approver_nonce)), code);
  assert.notEqual(dc.pairingCode(handle, bytes(l.device_key), bytes(l.mls_key), bytes(vectors.approver_nonce), bytes(vectors.device_nonce)), code);
});

test("the vectors' chain verifies and lists its current devices", async () => {
  const c = await dc.verifyChain(handle, links());
  assert.ok(c.ok, c.refusal?.message);
  assert.deepEqual(c.view.hashes.map(hex), vectors.hashes);
  // Link 3 removed the first device: b and c remain.
  assert.deepEqual(c.view.devices.map((d) => hex(d.deviceKey)), [vectors.links[1].device_key, vectors.links[2].device_key]);
  assert.ok(dc.findDevice(c.view, bytes(vectors.links[2].mls_key), true));
  assert.equal(dc.findDevice(c.view, bytes(vectors.links[0].device_key)), undefined);
  assert.equal(dc.findDevice(c.view, bytes(vectors.links[2].device_key), true), undefined);  // Not an MLS key.
});

test("every tampered field is refused with the C++ code", async () => {
  const two = (await dc.verifyChain(handle, links().slice(0, 2))).view;
  const cases = [
    [(l) => (l.seq = 3n), "brokenLink"],
    [(l) => (l.previousHash = new Uint8Array(32).fill(120)), "brokenLink"],
    [(l) => (l.deviceKey = bytes(vectors.links[1].device_key)), "badSignature"],
    [(l) => (l.mlsKey = bytes(vectors.links[1].mls_key)), "badSignature"],
    [(l) => (l.timeMs += 1n), "badSignature"],
    [(l) => (l.op = proto.DeviceLinkOp.DEVICE_REMOVE), "malformed"],
    [(l) => (l.op = proto.DeviceLinkOp.DEVICE_LINK_OP_UNSPECIFIED), "malformed"],
    [(l) => (l.signerKey = bytes(vectors.links[0].device_key)), "badSignature"],
    [(l) => (l.signature[5] ^= 1), "badSignature"],
    [(l) => (l.possession[5] ^= 1), "badSignature"],
    [(l) => (l.deviceKey = new Uint8Array(5)), "malformed"],
  ];
  assert.ok((await dc.append(two, handle, links()[2])).ok);
  for (const [edit, code] of cases) {
    const l = links()[2];
    edit(l);
    assert.equal(await refusal(dc.append(two, handle, l)), code, edit.toString());
  }
  // The handle is signed: the chain cannot be moved to another account.
  assert.equal(await refusal(dc.verifyChain("elodie", links())), "badSignature");
  // Reordered or dropped links break the chain.
  const ls = links();
  assert.equal(await refusal(dc.verifyChain(handle, [ls[0], ls[2], ls[3]])), "brokenLink");
  assert.equal(await refusal(dc.verifyChain(handle, [ls[1], ls[0]])), "malformed");
});

test("only a current device approves; keys are never added twice; a pin only grows", async () => {
  const all = (await dc.verifyChain(handle, links())).view;
  const stranger = await generateKey();
  const strangerMls = await generateKey();
  const poss = await dc.signPossession(handle, stranger.publicKey, strangerMls.publicKey, stranger);
  // Signed by a key outside the chain: not approved.
  const byStranger = await dc.makeLink(all, handle, proto.DeviceLinkOp.DEVICE_ADD, stranger.publicKey, strangerMls.publicKey, 1n, stranger, poss);
  assert.equal(await refusal(dc.append(all, handle, byStranger)), "notApproved");
  // A possession proof for another account proves nothing.
  const c = await generateKey();  // Not in the chain: cannot sign either, so test with a fresh chain.
  const zero = await dc.makeLink(dc.emptyView(), handle, proto.DeviceLinkOp.DEVICE_ADD, c.publicKey, c.publicKey, 1n, c, await dc.signPossession(handle, c.publicKey, c.publicKey, c));
  const mine = await dc.append(dc.emptyView(), handle, zero);
  assert.ok(mine.ok);
  const wrongAccount = await dc.makeLink(mine.view, handle, proto.DeviceLinkOp.DEVICE_ADD, stranger.publicKey, strangerMls.publicKey, 1n, c,
    await dc.signPossession("elodie", stranger.publicKey, strangerMls.publicKey, stranger));
  assert.equal(await refusal(dc.append(mine.view, handle, wrongAccount)), "badSignature");
  const good = await dc.makeLink(mine.view, handle, proto.DeviceLinkOp.DEVICE_ADD, stranger.publicKey, strangerMls.publicKey, 1n, c, poss);
  const grown = await dc.append(mine.view, handle, good);
  assert.ok(grown.ok);
  // The same key again, or its MLS key under another device key: duplicate.
  const again = await dc.makeLink(grown.view, handle, proto.DeviceLinkOp.DEVICE_ADD, stranger.publicKey, strangerMls.publicKey, 1n, c, poss);
  assert.equal(await refusal(dc.append(grown.view, handle, again)), "duplicate");
  const other = await generateKey();
  const sameMls = await dc.makeLink(grown.view, handle, proto.DeviceLinkOp.DEVICE_ADD, other.publicKey, strangerMls.publicKey, 1n, c,
    await dc.signPossession(handle, other.publicKey, strangerMls.publicKey, other));
  assert.equal(await refusal(dc.append(grown.view, handle, sameMls)), "duplicate");
  // Removing a device that is not there; removing the last one.
  const rmStranger = await dc.makeLink(mine.view, handle, proto.DeviceLinkOp.DEVICE_REMOVE, stranger.publicKey, strangerMls.publicKey, 1n, c, new Uint8Array());
  assert.equal(await refusal(dc.append(mine.view, handle, rmStranger)), "unknownDevice");
  const rmSelf = await dc.makeLink(mine.view, handle, proto.DeviceLinkOp.DEVICE_REMOVE, c.publicKey, c.publicKey, 1n, c, new Uint8Array());
  assert.equal(await refusal(dc.append(mine.view, handle, rmSelf)), "malformed");
  // Pins.
  const pin = dc.pinOf((await dc.verifyChain(handle, links().slice(0, 2))).view);
  assert.equal(dc.checkPin(pin, all), undefined);
  assert.equal(dc.checkPin(pin, (await dc.verifyChain(handle, links().slice(0, 1))).view).code, "rolledBack");
  assert.equal(dc.checkPin(pin, dc.emptyView()).code, "rootChanged");
  assert.equal(dc.checkPin(pin, mine.view).code, "rootChanged");
  // A fork: the same first link, another second link (signed by the vectors' first device, seed 1).
  const secret = new Uint8Array(32).fill(1);
  const a = { kind: "raw", secret, publicKey: ed25519.getPublicKey(secret) };
  assert.equal(hex(a.publicKey), vectors.links[0].device_key);
  const first = (await dc.verifyChain(handle, links().slice(0, 1))).view;
  const fork = await dc.append(first, handle, await dc.makeLink(first, handle, proto.DeviceLinkOp.DEVICE_ADD, stranger.publicKey, strangerMls.publicKey, 1n, a, poss));
  assert.ok(fork.ok);
  assert.equal(dc.checkPin(pin, fork.view).code, "rolledBack");
});
