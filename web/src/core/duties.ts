// The group duties a client does when it reads the group's events, as the C++ SDK does
// (client/sdk/client_events.cpp act_on_requests, client_groups.cpp commit_pending_self_removals):
// the lowest leaf that stays commits members' requests to leave; an inviter's client adds the
// invitees who accepted once the group's objection delay passed (a professional nobody objected to);
// the lowest leaf of a group open to peers adds the peers who asked to join. Each is tried once per
// invitation or request on this device (a refusal is not retried in a loop). Loaded on demand by
// inbox.ts after a batch; single-threaded.
import type { Context } from "./context";
import { Facilitator } from "./facilitate";
import * as groups from "./groups";
import * as mls from "./mls";
import type { ConvMeta } from "./model";
import type { Roster } from "./roster";

const HOUR_MS = 3_600_000;

/** Invitations and join requests already tried on this device (conversation, nonce or "join:" handle). */
const tried = new Set<string>();

/**
 * Does what is due in every group this device is in. Returns when to look again (the relay's time
 * in ms: the end of the nearest objection delay), or undefined.
 */
export async function runDuties(ctx: Context, roster: Roster): Promise<number | undefined> {
  const f = new Facilitator(ctx, roster);
  let next: number | undefined;
  for (const meta of [...ctx.convs.values()]) {
    if (!meta.group || !meta.ready || meta.left || meta.broken || meta.refused) continue;
    await commitLeavers(ctx, f, meta).catch(() => {});
    const due = await addAccepted(ctx, f, meta);
    if (due !== undefined) next = Math.min(next ?? due, due);
    await addJoiners(ctx, f, meta);
  }
  return next;
}

/** Whether this device's leaf is the lowest of those not leaving. */
function lowest(state: mls.GroupStateHandle, leaving: number[]): boolean {
  const first = mls.leaves(state).map((l) => l.leaf).filter((l) => !leaving.includes(l)).sort((a, b) => a - b)[0];
  return first === state.privatePath.leafIndex;
}

async function commitLeavers(ctx: Context, f: Facilitator, meta: ConvMeta): Promise<void> {
  const leaving = await f.leaving(meta.id);
  if (leaving.length === 0 || meta.leaving) return;
  if (!lowest(await ctx.group(meta.id), leaving)) return;  // Someone before us commits.
  await f.commitLeaving(meta.id);
}

/** Adds the invitees of this account who accepted; returns when the next objection delay ends. */
async function addAccepted(ctx: Context, f: Facilitator, meta: ConvMeta): Promise<number | undefined> {
  const state = await ctx.group(meta.id);
  const rules = groups.rulesOf(state);
  if (!rules) return undefined;
  const me = ctx.account!.handle;
  const now = ctx.serverNow();
  const members = new Set(mls.leaves(state).map((l) => l.handle));
  let next: number | undefined;
  for (const [nonce, t] of Object.entries(meta.invitations ?? {})) {
    const key = `${me}:${meta.id}:${nonce}`;
    if (t.inviter !== me || !t.accepted || t.used || t.revoked || t.declined || !t.signed || tried.has(key) || members.has(t.invitee)) continue;
    if (t.professional && t.objected) continue;
    const due = (t.acceptedMs ?? 0) + rules.objectionHours * HOUR_MS;
    if (t.professional && now < due) {
      next = Math.min(next ?? due, due);
      continue;
    }
    tried.add(key);
    await f.addInvited(meta.id, nonce).catch(() => {});
  }
  return next;
}

async function addJoiners(ctx: Context, f: Facilitator, meta: ConvMeta): Promise<void> {
  const state = await ctx.group(meta.id);
  const rules = groups.rulesOf(state);
  if (!rules || !groups.describe(state, ctx.account!.handle).rules?.open || !lowest(state, [])) return;
  for (const handle of meta.joinRequests ?? []) {
    const key = `${ctx.account!.handle}:${meta.id}:join:${handle}`;
    if (tried.has(key)) continue;
    tried.add(key);
    await f.admit(meta.id, handle).catch(() => {});
  }
}
