// Devices and safety numbers of a conversation's people (docs/safety-numbers.md): each person with
// their devices from the MLS leaves, the number two people compare, and the user's verifications
// kept on this device. Part of the Messenger (messenger.ts); single-threaded.
import type { Context } from "./context";
import type { ConvMeta, PersonView, SafetyView } from "./model";
import { put } from "./store";
import * as verify from "./verify";
import type { Verification, VerifiedRecord } from "./verify";

/** The safety number of this account with `handle` in a conversation (undefined: not there, or oneself). */
function numberWith(ctx: Context, meta: ConvMeta, handle: string): string | undefined {
  const me = ctx.account!.handle;
  const devices = meta.devices ?? [];
  const theirs = verify.keysOf(devices, handle);
  const mine = verify.keysOf(devices, me);
  if (handle === me || !theirs.length || !mine.length) return undefined;
  return verify.safetyNumber({ handle: me, keys: mine }, { handle, keys: theirs });
}

/** Whether the user verified `handle` with the devices the conversation shows now. */
export function verificationWith(ctx: Context, meta: ConvMeta, handle: string): Verification {
  const number = numberWith(ctx, meta, handle);
  return number === undefined ? "unverified" : verify.verificationOf(ctx.verified.get(handle), number);
}

/** The people of a thread, each with their devices (from the MLS leaves), this account first. */
export function people(ctx: Context, peer: string): PersonView[] {
  const meta = ctx.convOf(peer);
  if (!meta?.devices) return [];
  const me = ctx.account!.handle;
  const byHandle = new Map<string, PersonView>();
  for (const d of meta.devices) {
    const p = byHandle.get(d.handle) ?? { handle: d.handle, self: d.handle === me, devices: [], unapproved: [] };
    const fingerprint = verify.deviceFingerprint(d.key);
    p.devices.push(fingerprint);
    if (meta.unapproved?.includes(fingerprint)) p.unapproved.push(fingerprint);
    byHandle.set(d.handle, p);
  }
  return [...byHandle.values()]
    .map((p) => (p.self ? p : { ...p, verification: verificationWith(ctx, meta, p.handle) }))
    .sort((a, b) => Number(b.self) - Number(a.self) || a.handle.localeCompare(b.handle));
}

/** The safety number with `handle` in the thread `peer` (undefined: not there, or oneself). */
export function safetyNumber(ctx: Context, peer: string, handle: string): SafetyView | undefined {
  const meta = ctx.convOf(peer);
  const number = meta && numberWith(ctx, meta, handle);
  if (!meta || number === undefined) return undefined;
  const devices = meta.devices ?? [];
  return {
    handle,
    number,
    devices: verify.keysOf(devices, handle).map(verify.deviceFingerprint),
    ownDevices: verify.keysOf(devices, ctx.account!.handle).map(verify.deviceFingerprint),
    verification: verify.verificationOf(ctx.verified.get(handle), number),
  };
}

/**
 * The user compared `number` with `handle` and found it the same: kept on this device with the
 * devices it stands for. Throws when it is not the current number (the devices changed since).
 */
export async function markVerified(ctx: Context, peer: string, handle: string, number: string): Promise<void> {
  const meta = ctx.convOf(peer);
  const current = meta && numberWith(ctx, meta, handle);
  if (!meta || current === undefined || current !== number) throw new Error("not the current safety number");
  const record: VerifiedRecord = {
    handle,
    number,
    theirKeys: verify.keysOf(meta.devices ?? [], handle),
    ownKeys: verify.keysOf(meta.devices ?? [], ctx.account!.handle),
    verifiedMs: ctx.now(),
  };
  await ctx.store.write([put("kv", `verified/${handle}`, record)]);
  ctx.verified.set(handle, record);
  ctx.changed();
}
