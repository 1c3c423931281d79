// Tests only (bundled into build-node/core.mjs, never into the page): a node-side client core acting
// as a group's facilitator (creating a groupe de parole whose first commit sets its rules, inviting,
// adding, changing the rules, deleting), and as a member forging commits the rules forbid. The web
// client itself is a member's client and has no facilitator tools.
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { fromHex, randomHex, toHex } from "../core/bytes";
import * as groups from "../core/groups";
import * as mls from "../core/mls";
import type { Account, ChatMessage, ConvMeta, Messenger } from "../core/messenger";
import { groupKey } from "../core/messenger";
import { ACCOUNT_TYPE_EXTENSION, invitationTranscript, kindExtension, type Kind } from "../core/policy";
import {
  CommitDataSchema,
  ConversationKind,
  GroupPolicySchema,
  InvitationSchema,
  InviteeType,
  Role,
  RoleGrantSchema,
  SignedInvitationSchema,
  type GroupPolicy,
  type SignedInvitation,
} from "../core/proto";
import { sign } from "../core/signer";
import { put } from "../core/store";
import type { Wire } from "../core/wire";

/** The parts of a Messenger these helpers use (private there: the page has no use for them). */
interface Inside {
  account: Account;
  identity: mls.SigningIdentity;
  convs: Map<string, ConvMeta>;
  groups: Map<string, mls.GroupStateHandle>;
  store: { write(ops: unknown[]): Promise<void> };
  requireWire(): Wire;
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  group(id: string): Promise<mls.GroupStateHandle>;
  markHandled(meta: ConvMeta, from: number, to?: number): void;
  describeGroup(meta: ConvMeta, state: mls.GroupStateHandle): void;
  changed(): void;
}

const inside = (m: Messenger) => m as unknown as Inside;

export type PolicyInit = MessageInitShape<typeof GroupPolicySchema>;

/** One key package per device of `handle` (checked to be theirs), with the devices. */
async function keyPackagesOf(wire: Wire, handle: string): Promise<{ kps: ReturnType<typeof mls.decodeKeyPackage>[]; devices: bigint[] }> {
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

/** Sends a commit built on this device's state and adopts it once the relay accepted it. */
async function commitAndAdopt(
  m: Messenger,
  id: string,
  opts: mls.CommitOptions,
  devices: { add?: bigint[]; remove?: bigint[] } = {},
): Promise<number> {
  const x = inside(m);
  return x.exclusive(async () => {
    const wire = x.requireWire();
    const meta = x.convs.get(id)!;
    const state = await x.group(id);
    const out = await mls.commit(state, opts);
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
        },
      },
      "commit",
    );
    x.groups.set(id, out.newState);
    x.markHandled(meta, Number(res.seq));
    x.describeGroup(meta, out.newState);
    await x.store.write([put("groups", id, mls.encodeState(out.newState)), put("convs", id, meta)]);
    x.changed();
    return Number(res.seq);
  });
}

/**
 * Creates a groupe de parole: its first commit sets the rules (this account facilitates, plus
 * `rules`) and adds `members` (peers, without invitations). Returns the conversation id (hex).
 */
export async function createGroup(m: Messenger, rules: PolicyInit = {}, members: string[] = []): Promise<string> {
  const x = inside(m);
  const wire = x.requireWire();
  const info = await wire.call({ case: "createConversation", value: { kind: ConversationKind.GROUP } }, "conversation");
  const id = toHex(info.conversationId);
  const policy = create(GroupPolicySchema, rules);
  policy.roles.unshift(create(RoleGrantSchema, { handle: x.account.handle, role: Role.FACILITATOR }));
  const add = [];
  const devices = [];
  for (const handle of members) {
    const got = await keyPackagesOf(wire, handle);
    add.push(...got.kps);
    devices.push(...got.devices);
  }
  await x.exclusive(async () => {
    const state = await mls.newGroup(info.conversationId, x.identity);
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
    x.groups.set(id, state);
    x.convs.set(id, meta);
  });
  await commitAndAdopt(m, id, { add, policy: toBinary(GroupPolicySchema, policy) }, { add: devices });
  return id;
}

/** The group's rules as this device holds them. */
export async function rulesOf(m: Messenger, id: string): Promise<GroupPolicy> {
  return groups.rulesOf(await inside(m).group(id))!;
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
    inviter: x.account.handle,
    invitee,
    inviteeType: opts.professional ? InviteeType.INVITEE_PROFESSIONAL : InviteeType.INVITEE_PEER,
    accompanying: opts.accompanying ?? "",
    expiresAtMs: BigInt(Math.round(m.serverNow()) + (opts.expiresInMs ?? 86_400_000)),
    nonce: fromHex(randomHex(16)),
    charter: rules.charter,
  });
  const bytes = toBinary(InvitationSchema, invitation);
  const signed = create(SignedInvitationSchema, { invitation: bytes, signature: await sign(x.account.mlsKey, invitationTranscript(bytes)) });
  await x.requireWire().call({ case: "createInvitation", value: { signedInvitation: toBinary(SignedInvitationSchema, signed) } }, "done");
  return signed;
}

export function nonceOf(signed: SignedInvitation): Uint8Array {
  return fromBinary(InvitationSchema, signed.invitation).nonce;
}

/** The invitee accepts (after reading the charter). */
export async function accept(m: Messenger, id: string, signed: SignedInvitation): Promise<void> {
  await inside(m).requireWire().call({ case: "acceptInvitation", value: { conversationId: fromHex(id), nonce: nonceOf(signed) } }, "done");
}

export async function revoke(m: Messenger, id: string, signed: SignedInvitation): Promise<void> {
  await inside(m).requireWire().call({ case: "revokeInvitation", value: { conversationId: fromHex(id), nonce: nonceOf(signed) } }, "done");
}

/**
 * Adds the devices of `handle`; with an invitation, the commit carries it (authenticated data)
 * and, for a professional, gives them the INVITED_PROFESSIONAL role (with whom they accompany).
 */
export async function add(m: Messenger, id: string, handle: string, signed?: SignedInvitation): Promise<number> {
  const x = inside(m);
  const { kps, devices } = await keyPackagesOf(x.requireWire(), handle);
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

/** Deletes an entry for everyone (facilitators only). */
export async function deleteEntry(m: Messenger, id: string, seq: number): Promise<void> {
  await inside(m).requireWire().call({ case: "deleteEntry", value: { conversationId: fromHex(id), seq: BigInt(seq) } }, "done");
}

/**
 * A commit this device builds on its current state and does NOT send or adopt: e.g. a member who
 * is not a facilitator adding someone, which the rules forbid (the relay refuses it; a test relay
 * double shows it to other members anyway).
 */
export async function forgeCommit(
  m: Messenger,
  id: string,
  opts: { addHandle?: string; policy?: GroupPolicy; ownKind?: Kind },
): Promise<Uint8Array> {
  const x = inside(m);
  let state = await x.group(id);
  if (opts.ownKind) {
    // The committer's own leaf claims another account type: its UpdatePath leaf (which copies the
    // leaf's extensions) then carries it, signed by the committer, e.g. a professional dropping the mark.
    const own = 2 * mls.ownLeaf(state);
    const tree = state.ratchetTree.slice();
    const node = tree[own];
    if (node?.nodeType !== "leaf") throw new Error("no own leaf");
    const extensions = node.leaf.extensions.filter((e) => e.extensionType !== ACCOUNT_TYPE_EXTENSION);
    if (opts.ownKind === "professional") extensions.push({ extensionType: ACCOUNT_TYPE_EXTENSION, extensionData: kindExtension("professional") });
    tree[own] = { ...node, leaf: { ...node.leaf, extensions } };
    state = { ...state, ratchetTree: tree };
  }
  const commitOpts: mls.CommitOptions = {};
  if (opts.addHandle) commitOpts.add = (await keyPackagesOf(x.requireWire(), opts.addHandle)).kps;
  if (opts.policy) commitOpts.policy = toBinary(GroupPolicySchema, opts.policy);
  return (await mls.commit(state, commitOpts)).commit;
}

/** This device's epoch of the group. */
export async function epoch(m: Messenger, id: string): Promise<bigint> {
  return mls.epochOf(await inside(m).group(id));
}

/** The id of this device's only group (tests). */
export function groupIds(m: Messenger): string[] {
  return [...inside(m).convs.values()].filter((c) => c.group).map((c) => c.id);
}

/** The stored messages of a group (events included), oldest first. */
export async function groupMessages(m: Messenger, id: string): Promise<ChatMessage[]> {
  return (await m.messages(groupKey(id))).sort((a, b) => a.time - b.time || a.seq - b.seq);
}
