// What a plain member of a groupe de parole does besides writing: asking to leave (a Remove
// proposal of its own leaf, sent as a PROPOSAL; a facilitator's client commits it, as with the C++
// SDK's leave). Reporting a message is in reports.ts. Part of the Messenger; single-threaded.
import { fromHex } from "./bytes";
import type { Context } from "./context";
import * as mls from "./mls";
import { NotInGroup, type ConvMeta } from "./model";
import { DeliveryKind, ErrorCode } from "./proto";
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
