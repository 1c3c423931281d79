// Deleting one's account (issue 14 point 7). The client first asks to leave each group it is in (a
// Remove proposal of its own leaf, member.ts; a facilitator's client carries it out, so the others
// see the person leave), then sends DeleteAccount{handle}; the Messenger then forgets this device.
// Where the account is the only facilitator of a group with other people in it, nothing is done:
// the group's rules refuse a group without a facilitator, so the request would never be carried out.
// Direct conversations are not left one by one: nobody in them carries out a Remove proposal in the
// web client, and the relay ends the account's part in them. Part of the Messenger; single-threaded.
import type { Context } from "./context";
import type { GroupView, Thread } from "./model";

/** The account is the only facilitator of these groups (their threads): it cannot be deleted yet. */
export class LastFacilitator extends Error {
  constructor(readonly groups: Thread[]) {
    super("the only facilitator of a group");
    this.name = "LastFacilitator";
  }
}

/** Groups this account alone leads while other people are in them. */
export function ledAlone(threads: Thread[], view: (peer: string) => GroupView | undefined): Thread[] {
  return threads.filter((th) => {
    const v = th.group ? view(th.peer) : undefined;
    if (!v || v.left || v.broken) return false;
    const leads = v.roster.filter((r) => r.role === "facilitator");
    return leads.length === 1 && leads[0].self && v.roster.some((r) => !r.self);
  });
}

export interface DeletionSteps {
  threads(): Thread[];
  groupView(peer: string): GroupView | undefined;
  /** Asks to leave a group (member.ts's leaveGroup). */
  leave(peer: string): Promise<void>;
}

/** Leaves each group, then deletes the account on the relay. Throws before anything is sent if it cannot. */
export async function deleteAccount(ctx: Context, handle: string, steps: DeletionSteps): Promise<void> {
  if (handle !== ctx.account?.handle) throw new Error("not this account's pseudonym");
  ctx.requireWire();  // Online first: leaving half the groups and stopping there helps nobody.
  const alone = ledAlone(steps.threads(), (p) => steps.groupView(p));
  if (alone.length > 0) throw new LastFacilitator(alone);
  for (const th of steps.threads()) {
    const v = th.group && th.ready ? steps.groupView(th.peer) : undefined;
    // Alone in a group: nobody would carry the request out.
    if (!v || v.left || v.broken || !v.roster.some((r) => !r.self)) continue;
    if (!ctx.convs.get(th.peer.slice(1))?.leaving) await steps.leave(th.peer);
  }
  await ctx.requireWire().call({ case: "deleteAccount", value: { handle } }, "done");
}
