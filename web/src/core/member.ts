// What a plain member of a groupe de parole does besides writing: asking to leave (a Remove
// proposal of its own leaf, sent as a PROPOSAL; a facilitator's client commits it, as with the C++
// SDK's leave) and reporting a message to the group's facilitators (sealed to each facilitator
// device, seal.ts: the relay learns only that a report exists, from whom, about which group).
// Part of the Messenger; single-threaded.
import { fromHex } from "./bytes";
import type { Context } from "./context";
import * as mls from "./mls";
import { NoFacilitator, NotInGroup, type ChatMessage, type ConvMeta } from "./model";
import { DeliveryKind, ErrorCode } from "./proto";
import { encodeReport, sealTo } from "./seal";
import { put } from "./store";
import { markHandled } from "./watermark";
import { RelayError } from "./wire";

const ATTEMPTS = 5;
const EPOCH_WAIT_MS = 10_000;

function groupMeta(ctx: Context, peer: string): ConvMeta {
  const meta = peer.startsWith("#") ? ctx.convs.get(peer.slice(1)) : undefined;
  if (!meta?.group || !meta.ready || meta.left || meta.broken) throw new NotInGroup("not in this group");
  return meta;
}

async function waitForEpoch(ctx: Context, id: string, epoch: bigint): Promise<void> {
  const end = Date.now() + EPOCH_WAIT_MS;
  while (Date.now() < end && mls.epochOf(await ctx.group(id)) < epoch) await new Promise((r) => setTimeout(r, 100));
}

/**
 * Asks to leave the group: the proposal is made and sent in one go (no other change of the group
 * comes in between), then kept. On STALE_EPOCH it is made again once this device caught up.
 */
export async function leaveGroup(ctx: Context, peer: string): Promise<void> {
  const meta = groupMeta(ctx, peer);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const stale = await ctx.exclusive(async () => {
      const state = await ctx.group(meta.id);
      const out = await mls.proposeLeave(state);
      const value = { conversationId: fromHex(meta.id), epoch: mls.epochOf(state), payload: out.message, kind: DeliveryKind.PROPOSAL };
      try {
        const res = await ctx.requireWire().call({ case: "send", value }, "send");
        ctx.groups.set(meta.id, out.newState);
        meta.leaving = true;
        meta.leavingEpoch = Number(mls.epochOf(state));
        markHandled(meta, Number(res.seq));
        await ctx.store.write([put("groups", meta.id, mls.encodeState(out.newState)), put("convs", meta.id, meta)]);
        return undefined;
      } catch (e) {
        if (e instanceof RelayError && e.code === ErrorCode.STALE_EPOCH) return e.currentEpoch;
        throw e;
      }
    });
    if (stale === undefined) return ctx.changed();
    await waitForEpoch(ctx, meta.id, stale);
  }
  throw new RelayError(ErrorCode.STALE_EPOCH, "the group kept changing");
}

/**
 * A request to leave lasts one epoch (an MLS proposal): when the group moved on without removing
 * this device (another change was committed first), the request is made again in the new epoch.
 */
export async function renewLeaving(ctx: Context): Promise<void> {
  for (const meta of [...ctx.convs.values()]) {
    if (!meta.leaving || meta.left || !meta.ready || meta.broken) continue;
    if (Number(mls.epochOf(await ctx.group(meta.id))) === meta.leavingEpoch) continue;
    await leaveGroup(ctx, meta.peer).catch(() => {});  // Tried again after the next change.
  }
}

/** The group's facilitator devices (other than this one) with the leaf key each is sealed to. */
async function facilitatorKeys(ctx: Context, meta: ConvMeta): Promise<{ deviceId: bigint; key: Uint8Array }[]> {
  const facilitators = new Set((meta.roster ?? []).filter((r) => r.role === "facilitator").map((r) => r.handle));
  const info = await ctx.requireWire().call({ case: "getConversation", value: { conversationId: fromHex(meta.id) } }, "conversation");
  // The keys come from the group's ratchet tree; the relay only says which device sits at which leaf.
  const leaves = mls.leaves(await ctx.group(meta.id));
  const out: { deviceId: bigint; key: Uint8Array }[] = [];
  for (const m of info.members) {
    if (!facilitators.has(m.handle) || m.deviceId === ctx.account!.deviceId) continue;
    const leaf = leaves.find((l) => l.leaf === m.leaf && l.handle === m.handle);
    if (leaf?.signatureKey.length === 32) out.push({ deviceId: m.deviceId, key: leaf.signatureKey });
  }
  return out;
}

/**
 * Reports a received message of a group to its facilitators, with the reason the person gave (may
 * be empty): the text this device shows, sealed to each facilitator device. Kept as reported.
 */
export async function reportMessage(ctx: Context, peer: string, key: string, reason: string): Promise<void> {
  const meta = groupMeta(ctx, peer);
  const msg = await ctx.store.get<ChatMessage>("messages", key);
  if (!msg || msg.mine || msg.event || !msg.seq || msg.conv !== meta.id) throw new Error("not a message to report");
  const targets = await facilitatorKeys(ctx, meta);
  if (targets.length === 0) throw new NoFacilitator("no facilitator to report to");
  const plain = encodeReport({ conversationId: fromHex(meta.id), seq: msg.seq, text: msg.text, reason, reporter: ctx.account!.handle });
  const reports = targets.map((f) => ({ deviceId: f.deviceId, sealed: sealTo(f.key, plain) }));
  await ctx.requireWire().call({ case: "reportToFacilitators", value: { conversationId: fromHex(meta.id), reports } }, "done");
  msg.reported = true;
  await ctx.store.write([put("messages", msg.key, msg)]);
  ctx.changed();
}
