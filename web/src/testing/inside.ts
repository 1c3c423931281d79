// Tests only: the parts of a Messenger the test helpers (facilitator.ts, malicious.ts) reach into.
// They are private there (the page has no use for them); the helpers read them through a cast.
import type { Context } from "../core/context";
import * as groups from "../core/groups";
import type { Inbox } from "../core/inbox";
import type { Invitations } from "../core/invitations";
import type { Messenger } from "../core/messenger";
import * as mls from "../core/mls";
import type { GroupPolicy } from "../core/proto";
import type { Roster } from "../core/roster";
import type { Wire } from "../core/wire";

/** A Messenger's private parts (see the fields of Messenger). */
export interface Inside {
  ctx: Context & { account: NonNullable<Context["account"]>; identity: mls.SigningIdentity };
  inbox: Inbox;
  invites: Invitations;
  roster: Roster;
}

export const inside = (m: Messenger) => m as unknown as Inside;

/** One key package per device of `handle` (checked to be theirs), with the devices. */
export async function keyPackagesOf(wire: Wire, handle: string): Promise<{ kps: ReturnType<typeof mls.decodeKeyPackage>[]; devices: bigint[] }> {
  const fetched = await wire.call({ case: "fetchKeyPackages", value: { handle } }, "fetchKeyPackages");
  const kps = [];
  const devices = [];
  for (const k of fetched.keyPackages) {
    if (k.data.length === 0) continue;
    const kp = mls.decodeKeyPackage(k.data);
    if (mls.keyPackageHandle(kp) !== fetched.account!.handle) throw new Error(`a key package is not ${handle}'s`);
    kps.push(kp);
    devices.push(k.deviceId);
  }
  if (kps.length === 0) throw new Error(`${handle} has no key package`);
  return { kps, devices };
}

/** The group's rules as this device holds them. */
export async function rulesOf(m: Messenger, id: string): Promise<GroupPolicy> {
  return groups.rulesOf(await inside(m).ctx.group(id))!;
}
