// Tests only (bundled into build-node/core.mjs, never into the page): a node-side client core acting
// as a group's facilitator (creating a groupe de parole whose first commit sets its rules, inviting,
// adding, changing the rules, deleting), and as a member forging commits the rules forbid. The web
// client itself is a member's client and has no facilitator tools.
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { fromHex, randomHex, toHex, utf8 } from "../core/bytes";
import * as groups from "../core/groups";
import * as mls from "../core/mls";
import type { Account, ChatMessage, ConvMeta, Messenger } from "../core/messenger";
import { groupKey } from "../core/messenger";
import { ACCOUNT_TYPE_EXTENSION, invitationTranscript, kindExtension, type Kind } from "../core/policy";
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
  type GroupPolicy,
  type SignedInvitation,
} from "../core/proto";
import { generateKey, sign } from "../core/signer";
import { createCommit, createProposal, decodeMlsMessage, emptyPskIndex, encodeMlsMessage, processMessage } from "ts-mls";
import { signWithLabel } from "ts-mls/crypto/signature.js";
import { encodeLeafNodeTBS } from "ts-mls/leafNode.js";
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
  rememberAccepted(id: string): Promise<void>;
  describeGroup(meta: ConvMeta, state: mls.GroupStateHandle): void;
  trackDevices(meta: ConvMeta, state: mls.GroupStateHandle, seq: number, time: number, ops: unknown[]): void;
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
    x.groups.set(id, out.newState);
    x.markHandled(meta, Number(res.seq));
    x.describeGroup(meta, out.newState);
    const ops: unknown[] = [put("groups", id, mls.encodeState(out.newState)), put("convs", id, meta)];
    x.trackDevices(meta, out.newState, Number(res.seq), Date.now(), ops);
    await x.store.write(ops);
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

/** The invitee accepts (after reading the charter), on this device. */
export async function accept(m: Messenger, id: string, signed: SignedInvitation): Promise<void> {
  await inside(m).rememberAccepted(id);
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

/** The id (hex) of the newest direct conversation of `m` with `peer` that it holds. */
export function directId(m: Messenger, peer: string): string | undefined {
  let best: ConvMeta | undefined;
  for (const c of inside(m).convs.values()) if (c.peer === peer && c.ready && !c.group && (!best || c.createdMs > best.createdMs)) best = c;
  return best?.id;
}

/** Adds only the devices `only` of `handle` (say, a new device of someone already in the group). */
export async function addDevices(m: Messenger, id: string, handle: string, only: bigint[]): Promise<number> {
  const x = inside(m);
  const fetched = await keyPackagesOf(x.requireWire(), handle);
  const picked = fetched.devices.map((d, i) => ({ d, kp: fetched.kps[i] })).filter(({ d }) => only.includes(d));
  if (picked.length !== only.length) throw new Error(`not every device of ${handle} has a key package`);
  return commitAndAdopt(m, id, { add: picked.map((p) => p.kp) }, { add: picked.map((p) => p.d) });
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
  opts: { addHandle?: string; policy?: GroupPolicy; ownKind?: Kind; ownHandle?: string },
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
  if (opts.ownHandle) {
    // The committer's UpdatePath leaf names another account (e.g. the facilitator).
    const own = 2 * mls.ownLeaf(state);
    const tree = state.ratchetTree.slice();
    const node = tree[own];
    if (node?.nodeType !== "leaf") throw new Error("no own leaf");
    tree[own] = { ...node, leaf: { ...node.leaf, credential: { credentialType: "basic", identity: utf8(opts.ownHandle) } } };
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

// ---- a malicious member (tests of the client's defences) -----------------------------------------

/** Someone outside the group (not an account of the relay) whom a malicious member tries to seat in it. */
export interface Ghost {
  keyPackage: ReturnType<typeof mls.decodeKeyPackage>;
  stored: mls.StoredKeyPackage;
  state?: mls.GroupStateHandle;
}

export async function newGhost(handle = "fantome"): Promise<Ghost> {
  const key = await generateKey();
  const ref = mls.registerSigningKey(fromHex(randomHex(16)), key);
  const stored = await mls.newKeyPackage({ handle, ref, publicKey: key.publicKey, kind: "peer" });
  return { keyPackage: mls.decodeKeyPackage(stored.encoded), stored };
}

/** The ghost joins from the Welcome of a commit that added it (handed over out of band). */
export async function ghostJoins(ghost: Ghost, welcome: Uint8Array): Promise<void> {
  ghost.state = (await mls.joinFromWelcome(welcome, async (ref) => (ref === ghost.stored.ref ? ghost.stored : undefined))).state;
}

/** What the ghost reads of a group message, or undefined if it cannot. */
export async function ghostReads(ghost: Ghost, payload: Uint8Array): Promise<string | undefined> {
  try {
    const out = await mls.processIncoming(ghost.state!, payload);
    return out.application ? new TextDecoder().decode(out.application) : undefined;
  } catch {
    return undefined;
  }
}

export type Framing = "public" | "private";

/**
 * A commit this member builds and neither sends nor adopts, adding `ghost` (as a PublicMessage or a
 * PrivateMessage), with its Welcome.
 */
export async function forgeGhostCommit(m: Messenger, id: string, ghost: Ghost, framing: Framing): Promise<{ commit: Uint8Array; welcome: Uint8Array }> {
  const state = await inside(m).group(id);
  const out = await createCommit(
    { state: { ...state, unappliedProposals: {} }, cipherSuite: await mls.suite() },
    { extraProposals: [{ proposalType: "add", add: { keyPackage: ghost.keyPackage } }], wireAsPublicMessage: framing === "public", ratchetTreeExtension: true },
  );
  return {
    commit: encodeMlsMessage(out.commit),
    welcome: encodeMlsMessage({ version: "mls10", wireformat: "mls_welcome", welcome: out.welcome! }),
  };
}

/** A proposal this member builds and neither sends nor keeps (a PublicMessage or a PrivateMessage). */
export async function forgeProposal(m: Messenger, id: string, proposal: mls.Proposal, framing: Framing = "public"): Promise<Uint8Array> {
  const state = await inside(m).group(id);
  const out = await createProposal(state, framing === "public", proposal, await mls.suite());
  return encodeMlsMessage(out.message);
}

export function addProposal(ghost: Ghost): mls.Proposal {
  return { proposalType: "add", add: { keyPackage: ghost.keyPackage } };
}

/** An application message of this member (what the relay would carry as APPLICATION), not kept. */
export async function forgeApplication(m: Messenger, id: string, text: string): Promise<Uint8Array> {
  return (await mls.encrypt(await inside(m).group(id), utf8(text))).message;
}

/**
 * An Update proposal of this member whose new leaf (signed as RFC 9420 asks, by the key it names)
 * changes what `change` says: the account (handle), its type, or its signature key.
 */
export async function forgeUpdate(m: Messenger, id: string, change: { handle?: string; kind?: Kind; newSignatureKey?: boolean }): Promise<Uint8Array> {
  const x = inside(m);
  const state = await x.group(id);
  const cs = await mls.suite();
  const index = mls.ownLeaf(state);
  const node = state.ratchetTree[2 * index];
  if (node?.nodeType !== "leaf") throw new Error("no own leaf");
  let signKey = state.signaturePrivateKey;
  let signaturePublicKey = node.leaf.signaturePublicKey;
  if (change.newSignatureKey) {
    const key = await generateKey();
    signKey = mls.registerSigningKey(fromHex(randomHex(16)), key);
    signaturePublicKey = key.publicKey;
  }
  // A fresh HPKE key, from a key package of this member that is never uploaded.
  const fresh = mls.decodeKeyPackage((await mls.newKeyPackage(x.identity)).encoded);
  const extensions = node.leaf.extensions.filter((e) => e.extensionType !== ACCOUNT_TYPE_EXTENSION);
  const kind = change.kind ?? (mls.leaves(state).find((l) => l.leaf === index)!.professional ? "professional" : "peer");
  extensions.push({ extensionType: ACCOUNT_TYPE_EXTENSION, extensionData: kindExtension(kind) });
  const credential = change.handle ? { credentialType: "basic" as const, identity: utf8(change.handle) } : node.leaf.credential;
  const tbs = {
    hpkePublicKey: fresh.leafNode.hpkePublicKey,
    signaturePublicKey,
    credential,
    capabilities: node.leaf.capabilities,
    leafNodeSource: "update" as const,
    extensions,
    groupId: state.groupContext.groupId,
    leafIndex: index,
  };
  const signature = await signWithLabel(signKey, "LeafNodeTBS", encodeLeafNodeTBS(tbs), cs.signature);
  const { groupId: _g, leafIndex: _l, ...leaf } = tbs;
  return forgeProposal(m, id, { proposalType: "update", update: { leafNode: { ...leaf, signature } } });
}

/** A proposal of another type (PreSharedKey, ReInit, ExternalInit) this member builds and does not keep. */
export async function forgeOtherProposal(m: Messenger, id: string, type: "psk" | "reinit" | "external_init" | "gce"): Promise<Uint8Array> {
  const state = await inside(m).group(id);
  const proposal: mls.Proposal =
    type === "psk"
      ? { proposalType: "psk", psk: { preSharedKeyId: { psktype: "external", pskId: utf8("cle"), pskNonce: fromHex(randomHex(32)) } } }
      : type === "reinit"
        ? { proposalType: "reinit", reinit: { groupId: fromHex(randomHex(16)), version: "mls10", cipherSuite: state.groupContext.cipherSuite, extensions: [] } }
        : type === "external_init"
          ? { proposalType: "external_init", externalInit: { kemOutput: fromHex(randomHex(32)) } }
          : { proposalType: "group_context_extensions", groupContextExtensions: { extensions: state.groupContext.extensions } };
  return forgeProposal(m, id, proposal);
}

/**
 * A commit this member builds and does not send, carrying `proposal` by value (a commit may carry
 * any proposal but an Update by value).
 */
export async function forgeCommitWith(m: Messenger, id: string, proposal: mls.Proposal): Promise<Uint8Array> {
  const state = await inside(m).group(id);
  const out = await createCommit(
    { state: { ...state, unappliedProposals: {} }, cipherSuite: await mls.suite(), pskIndex: { findPsk: () => new Uint8Array(32) } },
    { extraProposals: [proposal], wireAsPublicMessage: true, ratchetTreeExtension: true },
  );
  return encodeMlsMessage(out.commit);
}

/** The proposal a forged message carries (tests use it to build commits with it). */
export function proposalOf(bytes: Uint8Array): mls.Proposal {
  const decoded = decodeMlsMessage(bytes, 0)!;
  if (decoded[0].wireformat !== "mls_public_message" || decoded[0].publicMessage.content.contentType !== "proposal") throw new Error("not a public proposal");
  return decoded[0].publicMessage.content.proposal;
}

/** The same message with one bit of its last byte flipped (a PublicMessage's membership tag). */
export function corruptTail(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  out[out.length - 1] ^= 1;
  return out;
}

/**
 * The same PublicMessage (proposal or commit) with one bit of its signature flipped: what a relay
 * that follows the group's public state refuses, and one that does not lets through.
 */
export function spoilSignature(bytes: Uint8Array): Uint8Array {
  const decoded = decodeMlsMessage(bytes, 0);
  if (!decoded || decoded[0].wireformat !== "mls_public_message") throw new Error("not a PublicMessage");
  const pm = decoded[0].publicMessage;
  const signature = pm.auth.signature.slice();
  signature[0] ^= 1;
  return encodeMlsMessage({ ...decoded[0], publicMessage: { ...pm, auth: { ...pm.auth, signature } } });
}

/** A delivery as the relay would hand it to `m` (a test passes it to handleBatch, as a relay that let it through). */
export function delivery(id: string, seq: number, kind: number, epoch: bigint, from: Messenger, payload: Uint8Array, timeMs = Date.now()) {
  return {
    conversationId: fromHex(id),
    seq: BigInt(seq),
    kind,
    epoch,
    senderDevice: inside(from).account.deviceId,
    serverTimeMs: BigInt(timeMs),
    payload,
    addedDevices: [],
    removedDevices: [],
    erasedFrom: 0n,
  };
}

/** Hands `deliveries` to `m` as if the relay had sent them, and waits until they are handled. */
export async function deliver(m: Messenger, deliveries: ReturnType<typeof delivery>[]): Promise<void> {
  const x = inside(m) as unknown as { handleBatch(w: Wire, d: unknown[]): Promise<void> } & Inside;
  await x.exclusive(() => x.handleBatch(x.requireWire(), deliveries));
}

/** The proposals this device holds for the next commit (ts-mls's pending proposals). */
export async function pendingProposals(m: Messenger, id: string): Promise<mls.ProposalWithSender[]> {
  return Object.values((await inside(m).group(id)).unappliedProposals);
}

/**
 * Puts a proposal among this device's pending ones without any check (as a client without the
 * rules check would hold it): for the test that a commit takes only the pending proposals allowed.
 */
export async function holdUnchecked(m: Messenger, id: string, proposalBytes: Uint8Array): Promise<void> {
  const x = inside(m);
  const decoded = decodeMlsMessage(proposalBytes, 0)!;
  if (decoded[0].wireformat !== "mls_public_message") throw new Error("not a PublicMessage");
  await x.exclusive(async () => {
    const out = await processMessage(decoded[0] as never, await x.group(id), emptyPskIndex, () => "accept", await mls.suite());
    x.groups.set(id, out.newState);
  });
}

/** The handle each leaf of this device's group names, by leaf index. */
export async function leafHandles(m: Messenger, id: string): Promise<Record<number, string>> {
  return Object.fromEntries(mls.leaves(await inside(m).group(id)).map((l) => [l.leaf, l.handle]));
}

/**
 * A commit adding the devices of `handle` (with an invitation for a professional), built by this
 * member and neither sent nor adopted, with its Welcome.
 */
export async function forgeAdd(m: Messenger, id: string, handle: string, signed?: SignedInvitation): Promise<{ commit: Uint8Array; welcome: Uint8Array }> {
  const x = inside(m);
  const { kps } = await keyPackagesOf(x.requireWire(), handle);
  const opts: mls.CommitOptions = { add: kps };
  if (signed) {
    opts.authenticatedData = toBinary(CommitDataSchema, create(CommitDataSchema, { invitations: [signed] }));
    const rules = await rulesOf(m, id);
    rules.roles.push(create(RoleGrantSchema, { handle, role: Role.INVITED_PROFESSIONAL }));
    opts.policy = toBinary(GroupPolicySchema, rules);
  }
  const out = await mls.commit(await x.group(id), opts);
  return { commit: out.commit, welcome: out.welcome };
}

/**
 * Hands a Welcome to `m` as a lying relay would: the delivery, and the relay's answers about the
 * conversation (a group holding `members`), without asking the real relay.
 */
export async function deliverWelcome(m: Messenger, id: string, seq: number, welcome: Uint8Array, members: string[]): Promise<void> {
  const x = inside(m) as unknown as { handleBatch(w: unknown, d: unknown[]): Promise<void> } & Inside;
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
  await x.exclusive(() => x.handleBatch(relay, [d]));
}

/** Whether this device holds the group (joined from a Welcome it accepted). */
export function holdsGroup(m: Messenger, id: string): boolean {
  return !!inside(m).convs.get(id)?.ready;
}

/** A commit of this device taking every pending proposal, checked or not (neither sent nor adopted). */
export async function forgeCommitWithPending(m: Messenger, id: string): Promise<Uint8Array> {
  return (await mls.commit(await inside(m).group(id), { keepPending: () => true })).commit;
}

/** Forgets this device's pending proposals (after holdUnchecked). */
export async function dropPending(m: Messenger, id: string): Promise<void> {
  const x = inside(m);
  await x.exclusive(async () => {
    x.groups.set(id, { ...(await x.group(id)), unappliedProposals: {} });
  });
}
