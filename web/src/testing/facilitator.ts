// Tests only (bundled into build-node/core.mjs, never into the page): a node-side client core acting
// as a group's facilitator (creating a groupe de parole whose first commit sets its rules, inviting,
// adding, changing the rules, deleting), handing deliveries to a client as a relay would, and
// reading a client's inside. A member forging what the rules forbid is in malicious.ts (exported
// from here too). The web client itself is a member's client and has no facilitator tools.
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { fromHex, randomHex, toHex } from "../core/bytes";
import * as groups from "../core/groups";
import type { BatchWire } from "../core/inbox";
import * as mls from "../core/mls";
import type { ChatMessage, ConvMeta, Messenger } from "../core/messenger";
import { groupKey } from "../core/messenger";
import { invitationTranscript } from "../core/policy";
import {
  CommitDataSchema,
  ConversationInfoSchema,
  ConversationKind,
  DeliveryKind,
  GroupPolicySchema,
  InvitationSchema,
  InviteeType,
  Role,
  RoleGrantSchema,
  SignedInvitationSchema,
  type Delivery,
  type GroupPolicy,
  type SignedInvitation,
} from "../core/proto";
import { sign } from "../core/signer";
import { put, type Op, type Store } from "../core/store";
import { markHandled } from "../core/watermark";
import type { Wire } from "../core/wire";
import { inside, keyPackagesOf, rulesOf } from "./inside";

export * from "./malicious";
export { rulesOf } from "./inside";

export type PolicyInit = MessageInitShape<typeof GroupPolicySchema>;

/** Sends a commit built on this device's state and adopts it once the relay accepted it. */
async function commitAndAdopt(
  m: Messenger,
  id: string,
  opts: mls.CommitOptions,
  devices: { add?: bigint[]; remove?: bigint[] } = {},
): Promise<number> {
  const x = inside(m);
  return x.ctx.exclusive(async () => {
    const wire = x.ctx.requireWire();
    const meta = x.ctx.convs.get(id)!;
    const state = await x.ctx.group(id);
    const out = await mls.commit(state, { keepPending: groups.allowedPending(state), ...opts });
    const res = await wire.call(
      {
        case: "commit",
        value: {
          conversationId: fromHex(id),
          epoch: mls.epochOf(state),
          commit: out.commit,
          addDevices: devices.add ?? [],
          removeDevices: devices.remove ?? [],
          welcome: out.welcome,
          genesis: out.genesis,
        },
      },
      "commit",
    );
    x.ctx.groups.set(id, out.newState);
    markHandled(meta, Number(res.seq));
    x.roster.describe(meta, out.newState);
    const ops: Op[] = [put("groups", id, mls.encodeState(out.newState)), put("convs", id, meta)];
    x.roster.track(meta, out.newState, Number(res.seq), Date.now(), ops);
    await x.ctx.store.write(ops);
    x.ctx.changed();
    return Number(res.seq);
  });
}

/**
 * Creates a groupe de parole: its first commit sets the rules (this account facilitates, plus
 * `rules`) and adds `members` (peers, without invitations). Returns the conversation id (hex).
 */
export async function createGroup(m: Messenger, rules: PolicyInit = {}, members: string[] = []): Promise<string> {
  const x = inside(m);
  const wire = x.ctx.requireWire();
  const info = await wire.call({ case: "createConversation", value: { kind: ConversationKind.GROUP } }, "conversation");
  const id = toHex(info.conversationId);
  const policy = create(GroupPolicySchema, rules);
  policy.roles.unshift(create(RoleGrantSchema, { handle: x.ctx.account.handle, role: Role.FACILITATOR }));
  const add = [];
  const devices = [];
  for (const handle of members) {
    const got = await keyPackagesOf(wire, handle);
    add.push(...got.kps);
    devices.push(...got.devices);
  }
  await x.ctx.exclusive(async () => {
    const state = await mls.newGroup(info.conversationId, x.ctx.identity);
    const meta: ConvMeta = {
      id,
      peer: groupKey(id),
      processed: 0,
      above: [],
      ready: true,
      unread: 0,
      lastTime: Date.now(),
      createdMs: Date.now(),
      group: true,
      invitations: {},
    };
    x.ctx.groups.set(id, state);
    x.ctx.convs.set(id, meta);
  });
  await commitAndAdopt(m, id, { add, policy: toBinary(GroupPolicySchema, policy) }, { add: devices });
  return id;
}

/** Changes the rules (a commit with the new group context extension). */
export async function setRules(m: Messenger, id: string, edit: (p: GroupPolicy) => void): Promise<number> {
  const policy = await rulesOf(m, id);
  edit(policy);
  return commitAndAdopt(m, id, { policy: toBinary(GroupPolicySchema, policy) });
}

/** Signs an invitation with this device's MLS key (the key of its leaf) and gives it to the relay. */
export async function invite(
  m: Messenger,
  id: string,
  invitee: string,
  opts: { professional?: boolean; accompanying?: string; expiresInMs?: number } = {},
): Promise<SignedInvitation> {
  const x = inside(m);
  const rules = await rulesOf(m, id);
  const invitation = create(InvitationSchema, {
    conversationId: fromHex(id),
    inviter: x.ctx.account.handle,
    invitee,
    inviteeType: opts.professional ? InviteeType.INVITEE_PROFESSIONAL : InviteeType.INVITEE_PEER,
    accompanying: opts.accompanying ?? "",
    expiresAtMs: BigInt(Math.round(m.serverNow()) + (opts.expiresInMs ?? 86_400_000)),
    nonce: fromHex(randomHex(16)),
    charter: rules.charter,
  });
  const bytes = toBinary(InvitationSchema, invitation);
  const signed = create(SignedInvitationSchema, { invitation: bytes, signature: await sign(x.ctx.account.mlsKey, invitationTranscript(bytes)) });
  await x.ctx.requireWire().call({ case: "createInvitation", value: { signedInvitation: toBinary(SignedInvitationSchema, signed) } }, "done");
  return signed;
}

export function nonceOf(signed: SignedInvitation): Uint8Array {
  return fromBinary(InvitationSchema, signed.invitation).nonce;
}

/** The invitee accepts (after reading the charter), on this device. */
export async function accept(m: Messenger, id: string, signed: SignedInvitation): Promise<void> {
  await inside(m).invites.rememberAccepted(id);
  await inside(m).ctx.requireWire().call({ case: "acceptInvitation", value: { conversationId: fromHex(id), nonce: nonceOf(signed) } }, "done");
}

export async function revoke(m: Messenger, id: string, signed: SignedInvitation): Promise<void> {
  await inside(m).ctx.requireWire().call({ case: "revokeInvitation", value: { conversationId: fromHex(id), nonce: nonceOf(signed) } }, "done");
}

/**
 * Adds the devices of `handle`; with an invitation, the commit carries it (authenticated data)
 * and, for a professional, gives them the INVITED_PROFESSIONAL role (with whom they accompany).
 */
export async function add(m: Messenger, id: string, handle: string, signed?: SignedInvitation): Promise<number> {
  const x = inside(m);
  const { kps, devices } = await keyPackagesOf(x.ctx.requireWire(), handle);
  const opts: mls.CommitOptions = { add: kps };
  if (signed) {
    opts.authenticatedData = toBinary(CommitDataSchema, create(CommitDataSchema, { invitations: [signed] }));
    const invitation = fromBinary(InvitationSchema, signed.invitation);
    if (invitation.inviteeType === InviteeType.INVITEE_PROFESSIONAL) {
      const rules = await rulesOf(m, id);
      rules.roles.push(create(RoleGrantSchema, { handle, role: Role.INVITED_PROFESSIONAL, accompanying: invitation.accompanying }));
      opts.policy = toBinary(GroupPolicySchema, rules);
    }
  }
  return commitAndAdopt(m, id, opts, { add: devices });
}

/** The id (hex) of the newest direct conversation of `m` with `peer` that it holds. */
export function directId(m: Messenger, peer: string): string | undefined {
  let best: ConvMeta | undefined;
  for (const c of inside(m).ctx.convs.values()) if (c.peer === peer && c.ready && !c.group && (!best || c.createdMs > best.createdMs)) best = c;
  return best?.id;
}

/** Adds only the devices `only` of `handle` (say, a new device of someone already in the group). */
export async function addDevices(m: Messenger, id: string, handle: string, only: bigint[]): Promise<number> {
  const x = inside(m);
  const fetched = await keyPackagesOf(x.ctx.requireWire(), handle);
  const picked = fetched.devices.map((d, i) => ({ d, kp: fetched.kps[i] })).filter(({ d }) => only.includes(d));
  if (picked.length !== only.length) throw new Error(`not every device of ${handle} has a key package`);
  return commitAndAdopt(m, id, { add: picked.map((p) => p.kp) }, { add: picked.map((p) => p.d) });
}

/** A commit that changes nothing but the epoch (an UpdatePath), taking no pending proposal. */
export function commitNothing(m: Messenger, id: string): Promise<number> {
  return commitAndAdopt(m, id, { keepPending: () => false });
}

/** The leaves whose self-removal (a member asking to leave) waits in this device's state. */
export async function leaving(m: Messenger, id: string): Promise<number[]> {
  const state = await inside(m).ctx.group(id);
  return Object.values(state.unappliedProposals)
    .filter((p) => p.proposal.proposalType === "remove" && p.proposal.remove.removed === p.senderLeafIndex)
    .map((p) => p.senderLeafIndex!);
}

/** Commits the members' requests to leave, naming their devices to the relay (as the C++ SDK does). */
export async function commitLeaving(m: Messenger, id: string): Promise<number> {
  const leaves = await leaving(m, id);
  const info = await inside(m).ctx.requireWire().call({ case: "getConversation", value: { conversationId: fromHex(id) } }, "conversation");
  const remove = info.members.filter((x) => leaves.includes(x.leaf)).map((x) => x.deviceId);
  return commitAndAdopt(m, id, {}, { remove });
}

/** Deletes an entry for everyone (facilitators only). */
export async function deleteEntry(m: Messenger, id: string, seq: number): Promise<void> {
  await inside(m).ctx.requireWire().call({ case: "deleteEntry", value: { conversationId: fromHex(id), seq: BigInt(seq) } }, "done");
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
