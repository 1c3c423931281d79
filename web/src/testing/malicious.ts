// Tests only (bundled into build-node/core.mjs through facilitator.ts, never into the page): a
// malicious member of a group, for the tests of the client's defences: commits, proposals, Updates
// and Welcomes the rules forbid, built with ts-mls on the member's own state and neither sent nor
// kept, a ghost (someone outside the group) seated that way, and bytes spoiled in transit.
import { create, toBinary } from "@bufbuild/protobuf";
import { createCommit, createProposal, decodeMlsMessage, emptyPskIndex, encodeMlsMessage, processMessage } from "ts-mls";
import { signWithLabel } from "ts-mls/crypto/signature.js";
import { encodeLeafNodeTBS } from "ts-mls/leafNode.js";
import { fromHex, randomHex, utf8 } from "../core/bytes";
import type { Messenger } from "../core/messenger";
import * as mls from "../core/mls";
import { ACCOUNT_TYPE_EXTENSION, kindExtension, type Kind } from "../core/policy";
import { CommitDataSchema, GroupPolicySchema, Role, RoleGrantSchema, type GroupPolicy, type SignedInvitation } from "../core/proto";
import { generateKey } from "../core/signer";
import { inside, keyPackagesOf, rulesOf } from "./inside";

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
  let state = await x.ctx.group(id);
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
  if (opts.addHandle) commitOpts.add = (await keyPackagesOf(x.ctx.requireWire(), opts.addHandle)).kps;
  if (opts.policy) commitOpts.policy = toBinary(GroupPolicySchema, opts.policy);
  return (await mls.commit(state, commitOpts)).commit;
}

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
  const state = await inside(m).ctx.group(id);
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
  const state = await inside(m).ctx.group(id);
  const out = await createProposal(state, framing === "public", proposal, await mls.suite());
  return encodeMlsMessage(out.message);
}

export function addProposal(ghost: Ghost): mls.Proposal {
  return { proposalType: "add", add: { keyPackage: ghost.keyPackage } };
}

/** An application message of this member (what the relay would carry as APPLICATION), not kept. */
export async function forgeApplication(m: Messenger, id: string, text: string): Promise<Uint8Array> {
  return (await mls.encrypt(await inside(m).ctx.group(id), utf8(text))).message;
}

/**
 * An Update proposal of this member whose new leaf (signed as RFC 9420 asks, by the key it names)
 * changes what `change` says: the account (handle), its type, or its signature key.
 */
export async function forgeUpdate(m: Messenger, id: string, change: { handle?: string; kind?: Kind; newSignatureKey?: boolean }): Promise<Uint8Array> {
  const x = inside(m);
  const state = await x.ctx.group(id);
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
  const fresh = mls.decodeKeyPackage((await mls.newKeyPackage(x.ctx.identity)).encoded);
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
  const state = await inside(m).ctx.group(id);
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
  const state = await inside(m).ctx.group(id);
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

/** The proposals this device holds for the next commit (ts-mls's pending proposals). */
export async function pendingProposals(m: Messenger, id: string): Promise<mls.ProposalWithSender[]> {
  return Object.values((await inside(m).ctx.group(id)).unappliedProposals);
}

/**
 * Puts a proposal among this device's pending ones without any check (as a client without the
 * rules check would hold it): for the test that a commit takes only the pending proposals allowed.
 */
export async function holdUnchecked(m: Messenger, id: string, proposalBytes: Uint8Array): Promise<void> {
  const x = inside(m);
  const decoded = decodeMlsMessage(proposalBytes, 0)!;
  if (decoded[0].wireformat !== "mls_public_message") throw new Error("not a PublicMessage");
  await x.ctx.exclusive(async () => {
    const out = await processMessage(decoded[0] as never, await x.ctx.group(id), emptyPskIndex, () => "accept", await mls.suite());
    x.ctx.groups.set(id, out.newState);
  });
}

/**
 * A commit adding the devices of `handle` (with an invitation for a professional), built by this
 * member and neither sent nor adopted, with its Welcome.
 */
export async function forgeAdd(m: Messenger, id: string, handle: string, signed?: SignedInvitation): Promise<{ commit: Uint8Array; welcome: Uint8Array }> {
  const x = inside(m);
  const { kps } = await keyPackagesOf(x.ctx.requireWire(), handle);
  const opts: mls.CommitOptions = { add: kps };
  if (signed) {
    opts.authenticatedData = toBinary(CommitDataSchema, create(CommitDataSchema, { invitations: [signed] }));
    const rules = await rulesOf(m, id);
    rules.roles.push(create(RoleGrantSchema, { handle, role: Role.INVITED_PROFESSIONAL }));
    opts.policy = toBinary(GroupPolicySchema, rules);
  }
  const out = await mls.commit(await x.ctx.group(id), opts);
  return { commit: out.commit, welcome: out.welcome };
}

/** A commit of this device taking every pending proposal, checked or not (neither sent nor adopted). */
export async function forgeCommitWithPending(m: Messenger, id: string): Promise<Uint8Array> {
  return (await mls.commit(await inside(m).ctx.group(id), { keepPending: () => true })).commit;
}

/** Forgets this device's pending proposals (after holdUnchecked). */
export async function dropPending(m: Messenger, id: string): Promise<void> {
  const x = inside(m);
  await x.ctx.exclusive(async () => {
    x.ctx.groups.set(id, { ...(await x.ctx.group(id)), unappliedProposals: {} });
  });
}
