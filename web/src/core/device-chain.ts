// An account's device chain (docs/SECURITY.md, "Device approval"): the signed list of its devices,
// so that neither the relay nor anyone else can give an account a device its owner never approved.
// A TypeScript port of lib/policy/device_chain.cpp (same transcripts, hashes, rules and
// refusal codes), checked against lib/policy/device_chain.json by tests/device-chain-core.
// Pure functions over plain values; signatures through signer.ts (WebCrypto or @noble/curves).
import { create } from "@bufbuild/protobuf";
import { sha256 } from "@noble/hashes/sha2.js";
import { concat, equalBytes, utf8 } from "./bytes";
import { DeviceLinkOp, DeviceLinkSchema, type DeviceLink } from "./proto";
import { sign, verify, type KeyHandle } from "./signer";

const LINK_LABEL = "cercle-device-link-v1";
const POSSESSION_LABEL = "cercle-device-possession-v1";
const COMMITMENT_LABEL = "cercle-pairing-commitment-v1";
const CODE_LABEL = "cercle-pairing-code-v1";
export const MAX_CHAIN_LINKS = 1000;
export const NONCE_BYTES = 32;
const KEY_BYTES = 32;

/** Why a chain or a link was refused (ChainErrc in device_chain.h, same meanings). */
export type ChainErrc =
  | "malformed"      // A field has the wrong size or value.
  | "badSignature"   // The link's signature or the new device's possession proof does not verify.
  | "notApproved"    // The signer is not a current device of the account.
  | "brokenLink"     // seq or previous_hash does not follow the chain.
  | "duplicate"      // ADD of a key already in the chain (current or removed).
  | "unknownDevice"  // REMOVE of a key that is not a current device.
  | "tooLong"        // More than MAX_CHAIN_LINKS links.
  | "rootChanged"    // The chain does not start with the pinned first link.
  | "rolledBack";    // Shorter than the pinned chain, or another link where the pin has one.

export interface ChainRefusal {
  code: ChainErrc;
  message: string;  // English, for logs; the UI words refusals from `code`.
}

export interface ChainDevice {
  deviceKey: Uint8Array;
  mlsKey: Uint8Array;
  addedSeq: bigint;
}

/** What a valid chain says: its current devices and the hash of every link. */
export interface ChainView {
  devices: ChainDevice[];
  hashes: Uint8Array[];
  removedKeys: Uint8Array[];  // device_key of every removed device: never added again.
}

/** What a client keeps of an account's chain once seen: its first link and how far it had read. */
export interface ChainPin {
  root: Uint8Array;
  length: number;
  head: Uint8Array;
}

export type ChainCheck = { ok: true; view: ChainView } | { ok: false; refusal: ChainRefusal };

export function emptyView(): ChainView {
  return { devices: [], hashes: [], removedKeys: [] };
}

/** The device whose device_key (or mls_key, with byMlsKey) is `key`. */
export function findDevice(view: ChainView, key: Uint8Array, byMlsKey = false): ChainDevice | undefined {
  return view.devices.find((d) => equalBytes(byMlsKey ? d.mlsKey : d.deviceKey, key));
}

// Length-prefixed fields keep every transcript unambiguous (as put_u8_bytes / put_u16_bytes).
function u8Bytes(b: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(b.length & 0xff), b);
}

function u16Bytes(b: Uint8Array): Uint8Array {
  return concat(Uint8Array.of((b.length >> 8) & 0xff, b.length & 0xff), b);
}

function u64(v: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, v), false);
  return out;
}

function labelled(label: string): Uint8Array {
  return concat(utf8(label), Uint8Array.of(0));
}

export function linkTranscript(handle: string, link: DeviceLink): Uint8Array {
  return concat(
    labelled(LINK_LABEL),
    u16Bytes(utf8(handle)),
    u64(link.seq),
    u8Bytes(link.previousHash),
    Uint8Array.of(link.op & 0xff),
    u8Bytes(link.deviceKey),
    u8Bytes(link.mlsKey),
    u64(link.timeMs),
    u8Bytes(link.signerKey),
  );
}

/** SHA-256 of the transcript followed by the signature. */
export function linkHash(handle: string, link: DeviceLink): Uint8Array {
  return sha256(concat(linkTranscript(handle, link), link.signature));
}

export function possessionTranscript(handle: string, deviceKey: Uint8Array, mlsKey: Uint8Array): Uint8Array {
  return concat(labelled(POSSESSION_LABEL), u16Bytes(utf8(handle)), u8Bytes(deviceKey), u8Bytes(mlsKey));
}

async function verifies(message: Uint8Array, signature: Uint8Array, key: Uint8Array): Promise<boolean> {
  if (signature.length !== 64 || key.length !== KEY_BYTES) return false;
  try {
    return await verify(key, message, signature);
  } catch {
    return false;
  }
}

export function signPossession(handle: string, deviceKey: Uint8Array, mlsKey: Uint8Array, device: KeyHandle): Promise<Uint8Array> {
  return sign(device, possessionTranscript(handle, deviceKey, mlsKey));
}

export function verifyPossession(handle: string, deviceKey: Uint8Array, mlsKey: Uint8Array, possession: Uint8Array): Promise<boolean> {
  return verifies(possessionTranscript(handle, deviceKey, mlsKey), possession, deviceKey);
}

function refuse(code: ChainErrc, message: string): ChainCheck {
  return { ok: false, refusal: { code, message } };
}

// Field sizes and the rules of link 0.
function checkShape(view: ChainView, link: DeviceLink): ChainCheck | undefined {
  if (link.op !== DeviceLinkOp.DEVICE_ADD && link.op !== DeviceLinkOp.DEVICE_REMOVE) {
    return refuse("malformed", "a link either adds or removes a device");
  }
  if ([link.deviceKey, link.mlsKey, link.signerKey].some((k) => k.length !== KEY_BYTES)) {
    return refuse("malformed", "device, MLS and signer keys are 32 bytes");
  }
  if (view.hashes.length === 0 && (link.op !== DeviceLinkOp.DEVICE_ADD || !equalBytes(link.signerKey, link.deviceKey))) {
    return refuse("malformed", "link 0 adds the device that signs it");
  }
  if (link.op === DeviceLinkOp.DEVICE_REMOVE && link.possession.length !== 0) {
    return refuse("malformed", "a removal carries no possession proof");
  }
  return undefined;
}

function checkPlace(view: ChainView, link: DeviceLink): ChainCheck | undefined {
  if (view.hashes.length >= MAX_CHAIN_LINKS) return refuse("tooLong", "the chain has too many links");
  if (link.seq !== BigInt(view.hashes.length)) return refuse("brokenLink", "the link's seq does not follow the chain");
  const previous = view.hashes.length === 0 ? new Uint8Array(0) : view.hashes[view.hashes.length - 1];
  if (!equalBytes(link.previousHash, previous)) return refuse("brokenLink", "the link does not name the previous link's hash");
  return undefined;
}

async function applyAdd(next: ChainView, handle: string, link: DeviceLink): Promise<ChainCheck> {
  if (!(await verifyPossession(handle, link.deviceKey, link.mlsKey, link.possession))) {
    return refuse("badSignature", "the new device's possession proof does not verify");
  }
  if (findDevice(next, link.deviceKey) || findDevice(next, link.mlsKey, true) || next.removedKeys.some((k) => equalBytes(k, link.deviceKey))) {
    return refuse("duplicate", "this key is already in the chain");
  }
  next.devices.push({ deviceKey: link.deviceKey, mlsKey: link.mlsKey, addedSeq: link.seq });
  return { ok: true, view: next };
}

function applyRemove(next: ChainView, link: DeviceLink): ChainCheck {
  const i = next.devices.findIndex((d) => equalBytes(d.deviceKey, link.deviceKey) && equalBytes(d.mlsKey, link.mlsKey));
  if (i < 0) return refuse("unknownDevice", "the removed device is not a current device");
  if (next.devices.length === 1) return refuse("malformed", "an account keeps at least one device");
  next.removedKeys.push(next.devices[i].deviceKey);
  next.devices.splice(i, 1);
  return { ok: true, view: next };
}

/** Checks `link` as the next link of `view` (empty for link 0); `view` is left unchanged. */
export async function append(view: ChainView, handle: string, link: DeviceLink): Promise<ChainCheck> {
  if (utf8(handle).length > 0xffff) return refuse("malformed", "the handle is too long");
  const bad = checkShape(view, link) ?? checkPlace(view, link);
  if (bad) return bad;
  if (view.hashes.length > 0 && !findDevice(view, link.signerKey)) {
    return refuse("notApproved", "the signer is not a current device of the account");
  }
  if (!(await verifies(linkTranscript(handle, link), link.signature, link.signerKey))) {
    return refuse("badSignature", "the link's signature does not verify");
  }
  const next: ChainView = {
    devices: [...view.devices],
    hashes: [...view.hashes, linkHash(handle, link)],
    removedKeys: [...view.removedKeys],
  };
  return link.op === DeviceLinkOp.DEVICE_ADD ? applyAdd(next, handle, link) : applyRemove(next, link);
}

/** Checks a whole chain from link 0. */
export async function verifyChain(handle: string, links: readonly DeviceLink[]): Promise<ChainCheck> {
  if (links.length > MAX_CHAIN_LINKS) return refuse("tooLong", "too many links");
  let check: ChainCheck = { ok: true, view: emptyView() };
  for (const link of links) {
    check = await append(check.view, handle, link);
    if (!check.ok) return check;
  }
  return check;
}

/** Whether `view` is the pinned chain or an extension of it. */
export function checkPin(pin: ChainPin, view: ChainView): ChainRefusal | undefined {
  if (view.hashes.length === 0 || !equalBytes(view.hashes[0], pin.root)) {
    return { code: "rootChanged", message: "the chain does not start with the pinned link" };
  }
  if (view.hashes.length < pin.length || !equalBytes(view.hashes[pin.length - 1], pin.head)) {
    return { code: "rolledBack", message: "the chain is not an extension of the pinned one" };
  }
  return undefined;
}

/** Only for a non-empty view. */
export function pinOf(view: ChainView): ChainPin {
  return { root: view.hashes[0], length: view.hashes.length, head: view.hashes[view.hashes.length - 1] };
}

/**
 * Makes the next ADD (or REMOVE, with an empty possession) link of `view`, signed by `signer`
 * (whose public key becomes signer_key). `possession` is the added device's signPossession.
 */
export async function makeLink(
  view: ChainView,
  handle: string,
  op: DeviceLinkOp,
  deviceKey: Uint8Array,
  mlsKey: Uint8Array,
  timeMs: bigint,
  signer: KeyHandle,
  possession: Uint8Array,
): Promise<DeviceLink> {
  const link = create(DeviceLinkSchema, {
    seq: BigInt(view.hashes.length),
    previousHash: view.hashes.length === 0 ? new Uint8Array(0) : view.hashes[view.hashes.length - 1],
    op,
    deviceKey,
    mlsKey,
    timeMs,
    signerKey: signer.publicKey,
    possession,
  });
  link.signature = await sign(signer, linkTranscript(handle, link));
  return link;
}

/** What the new device sends before it sees the approver's nonce. */
export function commitment(deviceNonce: Uint8Array): Uint8Array {
  return sha256(concat(labelled(COMMITMENT_LABEL), deviceNonce));
}

/** The six digits both devices show ("123 456"). */
export function pairingCode(handle: string, deviceKey: Uint8Array, mlsKey: Uint8Array, deviceNonce: Uint8Array, approverNonce: Uint8Array): string {
  const h = sha256(
    concat(labelled(CODE_LABEL), u16Bytes(utf8(handle)), u8Bytes(deviceKey), u8Bytes(mlsKey), u8Bytes(deviceNonce), u8Bytes(approverNonce)),
  );
  const v = new DataView(h.buffer, h.byteOffset, 4).getUint32(0, false);
  const code = v % 1_000_000;
  const s = String(code).padStart(6, "0");
  return `${s.slice(0, 3)} ${s.slice(3)}`;
}
