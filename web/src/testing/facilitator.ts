// Tests only (bundled into build-node/core.mjs, never into the page): a node-side client core acting
// as a group's facilitator through the core's own tools (src/core/facilitate.ts: creating a
// groupe de parole whose first commit sets its rules, inviting, adding, changing the rules,
// deleting), handing deliveries to a client as a relay would, and reading a client's inside. A
// member forging what the rules forbid is in malicious.ts (exported from here too).
import { create, fromBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { fromHex, toHex } from "../core/bytes";
import { Facilitator } from "../core/facilitate";
import * as profiles from "../core/profile";
import type { BatchWire } from "../core/inbox";
import * as mls from "../core/mls";
import type { ChatMessage, ConvMeta, Messenger } from "../core/messenger";
import { groupKey } from "../core/messenger";
import {
  ConversationInfoSchema,
  ConversationKind,
  DeliveryKind,
  GroupPolicySchema,
  InvitationSchema,
  SignedInvitationSchema,
  type Delivery,
  type GroupPolicy,
  type SignedInvitation,
} from "../core/proto";
import type { Store } from "../core/store";
import type { Wire } from "../core/wire";
import { inside, keyPackagesOf } from "./inside";

export * from "./malicious";
export { PolicyRefused } from "../core/facilitate";
export { ProfileRefused } from "../core/profile";
export { rulesOf } from "./inside";

export type PolicyInit = MessageInitShape<typeof GroupPolicySchema>;

/** The core's facilitator tools (src/core/facilitate.ts) on `m`. */
export function fac(m: Messenger): Facilitator {
  const x = inside(m);
  return new Facilitator(x.ctx, x.roster);
}

/** Turns on (or off) the group duties `m` does after each batch (inbox.ts; off by default under node). */
export function setDuties(m: Messenger, on: boolean): void {
  inside(m).inbox.duties = on;
}

/**
 * Creates a groupe de parole: its first commit sets the rules (this account facilitates, plus
 * `rules`) and adds `members` (peers, without invitations). Returns the conversation id (hex).
 */
export function createGroup(m: Messenger, rules: PolicyInit = {}, members: string[] = []): Promise<string> {
  return fac(m).createWithPolicy(create(GroupPolicySchema, rules), members);
}

/** Changes the rules (a commit with the new group context extension). */
export function setRules(m: Messenger, id: string, edit: (p: GroupPolicy) => void): Promise<number> {
  return fac(m).editRules(id, edit);
}

/** Signs an invitation with this device's MLS key (the key of its leaf) and gives it to the relay. */
export async function invite(
  m: Messenger,
  id: string,
  invitee: string,
  opts: { professional?: boolean; accompanying?: string; expiresInMs?: number } = {},
): Promise<SignedInvitation> {
  const nonce = await fac(m).invite(id, invitee, { expiresInMs: 86_400_000, ...opts });
  return fromBinary(SignedInvitationSchema, inside(m).ctx.convs.get(id)!.invitations![nonce].signed!);
}

export function nonceOf(signed: SignedInvitation): Uint8Array {
  return fromBinary(InvitationSchema, signed.invitation).nonce;
}

/** The invitee accepts (after reading the charter), on this device. */
export async function accept(m: Messenger, id: string, signed: SignedInvitation): Promise<void> {
  await inside(m).invites.rememberAccepted(id);
  await inside(m).ctx.requireWire().call({ case: "acceptInvitation", value: { conversationId: fromHex(id), nonce: nonceOf(signed) } }, "done");
}

export function revoke(m: Messenger, id: string, signed: SignedInvitation): Promise<void> {
  return fac(m).revoke(id, toHex(nonceOf(signed)));
}

/**
 * Adds the devices of `handle`; with an invitation, the commit carries it (authenticated data)
 * and, for a professional, gives them the INVITED_PROFESSIONAL role (with whom they accompany).
 */
export function add(m: Messenger, id: string, handle: string, signed?: SignedInvitation): Promise<number> {
  return fac(m).add(id, handle, signed);
}

/** The id (hex) of the newest direct conversation of `m` with `peer` that it holds. */
export function directId(m: Messenger, peer: string): string | undefined {
  let best: ConvMeta | undefined;
  for (const c of inside(m).ctx.convs.values()) if (c.peer === peer && c.ready && !c.group && (!best || c.createdMs > best.createdMs)) best = c;
  return best?.id;
}

/**
 * Adds only the devices `only` of `handle` (say, a new device of someone already in the group),
 * without the chain check the core makes (tests seat devices the chain does not list).
 */
export async function addDevices(m: Messenger, id: string, handle: string, only: bigint[]): Promise<number> {
  const fetched = await keyPackagesOf(inside(m).ctx.requireWire(), handle);
  const picked = fetched.devices.map((d, i) => ({ d, kp: fetched.kps[i] })).filter(({ d }) => only.includes(d));
  if (picked.length !== only.length) throw new Error(`not every device of ${handle} has a key package`);
  return fac(m).addPackages(id, picked.map((p) => p.kp), picked.map((p) => p.d));
}

/** A commit that changes nothing but the epoch (an UpdatePath), taking no pending proposal. */
export function commitNothing(m: Messenger, id: string): Promise<number> {
  return fac(m).commitNothing(id);
}

/** The leaves whose self-removal (a member asking to leave) waits in this device's state. */
export function leaving(m: Messenger, id: string): Promise<number[]> {
  return fac(m).leaving(id);
}

/** Commits the members' requests to leave, naming their devices to the relay (as the C++ SDK does). */
export function commitLeaving(m: Messenger, id: string): Promise<number> {
  return fac(m).commitLeaving(id);
}

/** Deletes an entry for everyone (facilitators only). */
export function deleteEntry(m: Messenger, id: string, seq: number): Promise<void> {
  return fac(m).deleteEntry(id, seq);
}

/** This device's epoch of the group. */
export async function epoch(m: Messenger, id: string): Promise<bigint> {
  return mls.epochOf(await inside(m).ctx.group(id));
}

/** The id of this device's only group (tests). */
export function groupIds(m: Messenger): string[] {
  return [...inside(m).ctx.convs.values()].filter((c) => c.group).map((c) => c.id);
}

/** The stored messages of a group (events included), oldest first. */
export async function groupMessages(m: Messenger, id: string): Promise<ChatMessage[]> {
  return (await m.messages(groupKey(id))).sort((a, b) => a.time - b.time || a.seq - b.seq);
}

/** A delivery as the relay would hand it to `m` (a test passes it to handBatch, as a relay that let it through). */
export function delivery(id: string, seq: number, kind: number, epoch: bigint, from: Messenger, payload: Uint8Array, timeMs = Date.now()) {
  return {
    conversationId: fromHex(id),
    seq: BigInt(seq),
    kind,
    epoch,
    senderDevice: inside(from).ctx.account.deviceId,
    serverTimeMs: BigInt(timeMs),
    payload,
    addedDevices: [],
    removedDevices: [],
    erasedFrom: 0n,
  };
}

/** Hands `deliveries` to `m` as if the relay had sent them, and waits until they are handled. */
export async function deliver(m: Messenger, deliveries: ReturnType<typeof delivery>[]): Promise<void> {
  await handBatch(m, inside(m).ctx.requireWire(), deliveries);
}

/**
 * Hands a Welcome to `m` as a lying relay would: the delivery, and the relay's answers about the
 * conversation (a group holding `members`), without asking the real relay.
 */
export async function deliverWelcome(m: Messenger, id: string, seq: number, welcome: Uint8Array, members: string[]): Promise<void> {
  const info = create(ConversationInfoSchema, {
    conversationId: fromHex(id),
    kind: ConversationKind.GROUP,
    members: members.map((handle) => ({ handle })),
  });
  const relay = {
    async call(req: { case: string }) {
      if (req.case !== "getConversation") throw new Error(`unexpected request ${req.case}`);
      return info;
    },
    fire() {},
  };
  const d = { ...delivery(id, seq, DeliveryKind.WELCOME, 0n, m, welcome), senderDevice: 0n };
  await handBatch(m, relay, [d]);
}

/** Whether this device holds the group (joined from a Welcome it accepted). */
export function holdsGroup(m: Messenger, id: string): boolean {
  return !!inside(m).ctx.convs.get(id)?.ready;
}

/** The handle each leaf of this device's group names, by leaf index. */
export async function leafHandles(m: Messenger, id: string): Promise<Record<number, string>> {
  return Object.fromEntries(mls.leaves(await inside(m).ctx.group(id)).map((l) => [l.leaf, l.handle]));
}


/** Hands `deliveries` to `m` on `wire` (or a stand-in for it) as the relay would, and waits until they are handled. */
export async function handBatch(m: Messenger, wire: unknown, deliveries: unknown[]): Promise<void> {
  const x = inside(m);
  await x.ctx.exclusive(() => x.inbox.handleBatch(wire as BatchWire, deliveries as Delivery[]));
}

/** The signed-in connection of `m` (undefined while offline). */
export function wireOf(m: Messenger): Wire | undefined {
  return inside(m).ctx.wire;
}

/** The conversations `m` holds, by id (hex). */
export function convsOf(m: Messenger): Map<string, ConvMeta> {
  return inside(m).ctx.convs;
}

/** The store of `m`. */
export function storeOf(m: Messenger): Store {
  return inside(m).ctx.store;
}

/** The group's profile as `m` keeps it (name, description, version), if any. */
export function profileOf(m: Messenger, id: string): { name: string; description: string; version: number } | undefined {
  const p = inside(m).ctx.convs.get(id)?.profile;
  return p && { name: p.name, description: p.description, version: p.version };
}

/** Sends `plaintext` as an application message of `m` in the group (a test forging typed content). */
export async function sendPlaintext(m: Messenger, id: string, plaintext: Uint8Array): Promise<number> {
  const x = inside(m);
  return x.ctx.exclusive(async () => {
    const state = await x.ctx.group(id);
    const out = await mls.encrypt(state, plaintext);
    const value = { conversationId: fromHex(id), epoch: mls.epochOf(state), payload: out.message, kind: DeliveryKind.APPLICATION };
    const res = await x.ctx.requireWire().call({ case: "send", value }, "send");
    x.ctx.groups.set(id, out.newState);
    return Number(res.seq);
  });
}

/** A profile of the group signed by `m`'s leaf key, in its envelope (0x00 || AppContent). */
export async function profileEnvelope(m: Messenger, id: string, name: string, version: number): Promise<Uint8Array> {
  const a = inside(m).ctx.account;
  return profiles.envelope(await profiles.signProfile(a.mlsKey, a.handle, { conversationId: fromHex(id), name, description: "", version }));
}
