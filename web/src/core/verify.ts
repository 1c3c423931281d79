// Safety numbers and device fingerprints (docs/safety-numbers.md, the same as the C++ SDK's
// client/sdk/client_verify.cpp), and the devices of a conversation, always from its MLS leaves.
import { sha512 } from "@noble/hashes/sha2.js";
import { equalBytes, utf8 } from "./bytes";
import * as mls from "./mls";

const SAFETY_LABEL = "cercle safety number v1";
const FINGERPRINT_LABEL = "cercle device fingerprint v1";

/** One account's side of a safety number: its handle and its devices' signature keys. */
export interface AccountDevices {
  handle: string;
  keys: Uint8Array[];
}

/** One device of a conversation, as its leaf shows it. */
export interface DeviceRecord {
  handle: string;
  key: Uint8Array;  // The leaf's signature key.
}

/** What this device keeps when its user verified someone: the number and the devices it stands for. */
export interface VerifiedRecord {
  handle: string;
  number: string;
  theirKeys: Uint8Array[];
  ownKeys: Uint8Array[];
  verifiedMs: number;
}

export type Verification = "unverified" | "verified" | "changed";

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Sorted bytewise, each once. */
export function sortedKeys(keys: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const k of [...keys].sort(compareBytes)) if (!out.length || !equalBytes(out[out.length - 1], k)) out.push(k);
  return out;
}

function u16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}

function part(a: AccountDevices): number[] {
  const handle = utf8(a.handle);
  const keys = sortedKeys(a.keys);
  const out = [...u16(handle.length), ...handle, ...u16(keys.length)];
  for (const k of keys) out.push(...u16(k.length), ...k);
  return out;
}

function digits(label: string, body: ArrayLike<number>, groups: number): string {
  const input = new Uint8Array([...utf8(label), 0, ...Array.from(body)]);
  const d = sha512(input);
  const out: string[] = [];
  for (let g = 0; g < groups; g++) {
    let v = 0n;
    for (let i = 0; i < 5; i++) v = (v << 8n) | BigInt(d[g * 5 + i]);
    out.push((v % 100000n).toString().padStart(5, "0"));
  }
  return out.join(" ");
}

/** 12 groups of 5 digits, the same whichever account comes first. The handles must differ. */
export function safetyNumber(a: AccountDevices, b: AccountDevices): string {
  const first = compareBytes(utf8(a.handle), utf8(b.handle)) < 0;
  return digits(SAFETY_LABEL, [...part(first ? a : b), ...part(first ? b : a)], 12);
}

/** 3 groups of 5 digits over one device's signature key. */
export function deviceFingerprint(key: Uint8Array): string {
  return digits(FINGERPRINT_LABEL, key, 3);
}

/** Every device of the group, one per leaf. */
export function devicesOf(state: mls.GroupStateHandle): DeviceRecord[] {
  return mls.leaves(state).map((l) => ({ handle: l.handle, key: l.signatureKey }));
}

export function keysOf(devices: DeviceRecord[], handle: string): Uint8Array[] {
  return sortedKeys(devices.filter((d) => d.handle === handle).map((d) => d.key));
}

/**
 * The devices of `after` that are new for an account already in `before`: someone joining is a
 * member change, told as such; a device more for someone already here is what a server slipping in
 * a device would look like. Nothing before (the first look): nothing is new.
 */
export function newDevices(before: DeviceRecord[] | undefined, after: DeviceRecord[]): DeviceRecord[] {
  if (!before) return [];
  const handles = new Set(before.map((d) => d.handle));
  return after.filter((d) => handles.has(d.handle) && !before.some((b) => b.handle === d.handle && equalBytes(b.key, d.key)));
}

export function verificationOf(record: VerifiedRecord | undefined, number: string): Verification {
  if (!record) return "unverified";
  return record.number === number ? "verified" : "changed";
}
