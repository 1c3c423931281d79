// MLS (RFC 9420) through ts-mls, cipher suite 3: MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519.
//
// Wire formats (what the C++ client must produce and accept): every payload is an MLSMessage —
// key packages as mls_key_package, commits as mls_public_message (the ratchet tree travels in the
// Welcome's GroupInfo extension), Welcomes as mls_welcome, application messages as
// mls_private_message whose plaintext is the message text in UTF-8. Basic credentials whose identity
// is the account handle (UTF-8, as the relay stores it).
//
// The device's MLS signing key never enters ts-mls as key material: ts-mls gets an opaque reference
// and this module's signature implementation signs with the device's (non-extractable) key.
//
// Groupes de parole: every leaf carries the extension 0xF0A1 (one byte, the account type: 1 peer,
// 2 professional), and a group's rules are its group context extension 0xF0A0 (an encoded
// cercle.v1.GroupPolicy). Key packages list both in their capabilities, so that this client can be
// added to groups that have them. Every leaf also carries the device's report key, 0xF0A2 (an
// X25519 public key, listed in the capabilities too): members seal reports to it (reports.ts), as
// a WebCrypto Ed25519 key cannot be converted to open them. ts-mls copies a leaf's extensions and
// capabilities into the new leaf of each UpdatePath, so both stay in every leaf this device makes. How the members read from a state (mls-leaves.ts) is re-exported here.
import {
  bytesToBase64,
  createApplicationMessage,
  createCommit,
  createProposal,
  createGroup,
  decodeGroupState,
  decodeMlsMessage,
  defaultCapabilities,
  defaultLifetime,
  emptyPskIndex,
  encodeGroupState,
  encodeMlsMessage,
  generateKeyPackageWithKey,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  joinGroup,
  processMessage,
  type CiphersuiteImpl,
  type ClientState,
  type KeyPackage,
  type PrivateKeyPackage,
  type IncomingMessageCallback,
  type Proposal,
  type ProposalWithSender,
} from "ts-mls";
import { makeProposalRef } from "ts-mls/authenticatedContent.js";
import type { ProposalOrRef } from "ts-mls/proposalOrRefType.js";
import { defaultClientConfig } from "ts-mls/clientConfig.js";
import { makeKeyPackageRef } from "ts-mls/keyPackage.js";
import type { PrivateMessage } from "ts-mls/privateMessage.js";
import { decryptSenderData } from "ts-mls/privateMessage.js";
import { decryptGroupInfo, decryptGroupSecrets } from "ts-mls/welcome.js";
import { concat, equalBytes, fromUtf8, toHex, utf8 } from "./bytes";
import { genesisOf, type Genesis } from "./genesis";
import { handleAt, leafOf, type Leaf } from "./mls-leaves";
import { ACCOUNT_TYPE_EXTENSION, POLICY_EXTENSION, REPORT_KEY_EXTENSION, kindExtension, type Fail, type Kind } from "./policy";
import { PolicyRefusal } from "./proto";
import { sign, verify, webCryptoEd25519, type KeyHandle } from "./signer";

export type { Proposal, ProposalWithSender } from "ts-mls";
export { leaves, memberHandles, memberOf, ownLeaf, policyBytes, proposalFacts, type Leaf } from "./mls-leaves";

export const SUITE = "MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519" as const;
export type GroupStateHandle = ClientState;

const REF_MAGIC = utf8("cercle-key-ref:");
const keys = new Map<string, KeyHandle>();

/** Makes `key` usable by ts-mls under an opaque reference (stored in group states in its place). */
export function registerSigningKey(id: Uint8Array, key: KeyHandle): Uint8Array {
  const ref = concat(REF_MAGIC, id);
  keys.set(toHex(ref), key);
  return ref;
}

function lookup(ref: Uint8Array): KeyHandle | undefined {
  if (ref.length <= REF_MAGIC.length || !equalBytes(ref.subarray(0, REF_MAGIC.length), REF_MAGIC)) return undefined;
  return keys.get(toHex(ref));
}

let implPromise: Promise<CiphersuiteImpl> | undefined;

export function suite(): Promise<CiphersuiteImpl> {
  implPromise ??= (async () => {
    const base = await getCiphersuiteImpl(getCiphersuiteFromName(SUITE));
    const native = await webCryptoEd25519();
    return {
      ...base,
      signature: {
        async sign(signKey: Uint8Array, message: Uint8Array) {
          const key = lookup(signKey);
          if (!key) throw new Error("unknown signing key");
          return sign(key, message);
        },
        verify: native ? base.signature.verify : verify,
        keygen: base.signature.keygen,
      },
    };
  })();
  return implPromise;
}

export interface SigningIdentity {
  handle: string;
  ref: Uint8Array;        // From registerSigningKey.
  publicKey: Uint8Array;  // Ed25519 public key.
  kind: Kind;             // The account type the relay gave at sign-in: declared in every leaf.
  reportKey?: Uint8Array; // The device's report key (X25519 private key): its public key in every leaf.
}

export interface StoredKeyPackage {
  ref: string;  // Hex KeyPackageRef.
  encoded: Uint8Array;  // MLSMessage(mls_key_package), as uploaded.
  privatePackage: PrivateKeyPackage;
  lastResort: boolean;
}

export async function newKeyPackage(id: SigningIdentity, lastResort = false): Promise<StoredKeyPackage> {
  const cs = await suite();
  const capabilities = defaultCapabilities();
  capabilities.extensions = [...capabilities.extensions, POLICY_EXTENSION, ACCOUNT_TYPE_EXTENSION];
  const extensions = [{ extensionType: ACCOUNT_TYPE_EXTENSION, extensionData: kindExtension(id.kind) }];
  if (id.reportKey) {
    capabilities.extensions.push(REPORT_KEY_EXTENSION);
    const { reportPublicKey } = await import("./seal");
    extensions.push({ extensionType: REPORT_KEY_EXTENSION, extensionData: reportPublicKey(id.reportKey) });
  }
  const { publicPackage, privatePackage } = await generateKeyPackageWithKey(
    { credentialType: "basic", identity: utf8(id.handle) },
    capabilities,
    defaultLifetime,
    [],
    { signKey: id.ref, publicKey: id.publicKey },
    cs,
    extensions,
  );
  const encoded = encodeMlsMessage({ version: "mls10", wireformat: "mls_key_package", keyPackage: publicPackage });
  const ref = toHex(await makeKeyPackageRef(publicPackage, cs.hash));
  return { ref, encoded, privatePackage, lastResort };
}

export function decodeKeyPackage(bytes: Uint8Array): KeyPackage {
  const decoded = decodeMlsMessage(bytes, 0);
  if (!decoded || decoded[0].wireformat !== "mls_key_package") throw new Error("not a key package");
  return decoded[0].keyPackage;
}

/** The handle a key package claims (its basic credential's identity). */
export function keyPackageHandle(kp: KeyPackage): string | undefined {
  const c = kp.leafNode.credential;
  return c.credentialType === "basic" ? fromUtf8(c.identity) : undefined;
}

/** A new group whose only member is this device (its leaf from a fresh, never uploaded key package). */
export async function newGroup(groupId: Uint8Array, id: SigningIdentity): Promise<ClientState> {
  const cs = await suite();
  const own = await newKeyPackage(id);
  const kp = decodeKeyPackage(own.encoded);
  return createGroup(groupId, kp, own.privatePackage, [], cs);
}

export interface CommitOut {
  newState: ClientState;
  commit: Uint8Array;
  welcome: Uint8Array;
  /** A group's first commit only: its start, sent to the relay with it (Commit.genesis). */
  genesis?: Genesis;
  /** What the commit applies (pending proposals it took, with their senders, and its own), as a receiver lists them. */
  proposals: ProposalFrom[];
}

export interface CommitOptions {
  add?: KeyPackage[];
  removeLeaves?: number[];
  /** New group rules (an encoded GroupPolicy): the group context extension 0xF0A0. */
  policy?: Uint8Array;
  /** The commit's authenticated data (an encoded CommitData). */
  authenticatedData?: Uint8Array;
  /**
   * Which pending proposals (received from members this epoch) the commit takes: only those the
   * group's rules allow (groups.allowedPending). Without it, none: ts-mls would take them all.
   */
  keepPending?: (p: ProposalWithSender) => boolean;
}

/** A commit (a PublicMessage); the Welcome, when it adds someone, carries the ratchet tree. */
export async function commit(state: ClientState, opts: CommitOptions): Promise<CommitOut> {
  const cs = await suite();
  const proposals: Proposal[] = (opts.add ?? []).map((keyPackage) => ({ proposalType: "add", add: { keyPackage } }));
  for (const removed of opts.removeLeaves ?? []) proposals.push({ proposalType: "remove", remove: { removed } });
  if (opts.policy) {
    const others = state.groupContext.extensions.filter((e) => e.extensionType !== POLICY_EXTENSION);
    proposals.push({
      proposalType: "group_context_extensions",
      groupContextExtensions: { extensions: [...others, { extensionType: POLICY_EXTENSION, extensionData: opts.policy }] },
    });
  }
  const keep = opts.keepPending ?? (() => false);
  const pending = Object.fromEntries(Object.entries(state.unappliedProposals).filter(([, p]) => keep(p)));
  const out = await createCommit(
    { state: { ...state, unappliedProposals: pending }, cipherSuite: cs },
    { extraProposals: proposals, wireAsPublicMessage: true, ratchetTreeExtension: true, authenticatedData: opts.authenticatedData },
  );
  const own = state.privatePath.leafIndex;
  return {
    newState: out.newState,
    commit: encodeMlsMessage(out.commit),
    welcome: out.welcome ? encodeMlsMessage({ version: "mls10", wireformat: "mls_welcome", welcome: out.welcome }) : new Uint8Array(),
    genesis: genesisOf(state, out.newState),
    proposals: [
      ...Object.values(pending).map((p) => ({ proposal: p.proposal, sender: p.senderLeafIndex })),
      ...proposals.map((proposal) => ({ proposal, sender: own })),
    ],
  };
}

/**
 * This device asks to leave: a Remove proposal of its own leaf (a PublicMessage, as the C++ SDK's
 * leave), which a facilitator's client commits. The new state keeps the proposal pending.
 */
export async function proposeLeave(state: ClientState): Promise<{ newState: ClientState; message: Uint8Array }> {
  const out = await createProposal(state, true, { proposalType: "remove", remove: { removed: state.privatePath.leafIndex } }, await suite());
  return { newState: out.newState, message: encodeMlsMessage(out.message) };
}

/** A commit adding the key packages' owners; the Welcome carries the ratchet tree. */
export function commitAdd(state: ClientState, keyPackages: KeyPackage[]): Promise<CommitOut> {
  return commit(state, { add: keyPackages });
}

/**
 * Joins from a Welcome with one of this device's key packages; returns the state, the package used
 * and the leaf that signed the Welcome's GroupInfo (whoever added this device; joinGroup verified
 * that signature with that leaf's key).
 */
export async function joinFromWelcome(
  bytes: Uint8Array,
  find: (ref: string) => Promise<StoredKeyPackage | undefined>,
): Promise<{ state: ClientState; used: StoredKeyPackage; adder: number }> {
  const cs = await suite();
  const decoded = decodeMlsMessage(bytes, 0);
  if (!decoded || decoded[0].wireformat !== "mls_welcome") throw new Error("not a welcome");
  const welcome = decoded[0].welcome;
  for (const secret of welcome.secrets) {
    const stored = await find(toHex(secret.newMember));
    if (!stored) continue;
    const state = await joinGroup(welcome, decodeKeyPackage(stored.encoded), stored.privatePackage, emptyPskIndex, cs);
    // Read again to learn its signer (ts-mls keeps it to itself); joining used no PSK, so none here.
    const key = await cs.hpke.importPrivateKey(stored.privatePackage.initPrivateKey);
    const groupSecrets = await decryptGroupSecrets(key, secret.newMember, welcome, cs.hpke);
    if (!groupSecrets) throw new Error("unreadable group secrets");
    const info = await decryptGroupInfo(welcome, groupSecrets.joinerSecret, new Uint8Array(cs.kdf.size), cs);
    if (!info) throw new Error("unreadable group info");
    return { state, used: stored, adder: info.signer };
  }
  throw new Error("the welcome is for none of this device's key packages");
}

export async function encrypt(state: ClientState, plaintext: Uint8Array): Promise<{ newState: ClientState; message: Uint8Array }> {
  const cs = await suite();
  const out = await createApplicationMessage(state, plaintext, cs);
  const message = encodeMlsMessage({ version: "mls10", wireformat: "mls_private_message", privateMessage: out.privateMessage });
  return { newState: out.newState, message };
}

export interface Processed {
  newState: ClientState;
  application?: Uint8Array;
  /**
   * An application message's sender: the leaf that sent it, in the group's ratchet tree of the
   * message's epoch (never the relay's word): its credential's handle and its account type.
   */
  sender?: Leaf;
}

/** What ts-mls is told of any handshake met where none may be: refuse it. */
const rejectAll: IncomingMessageCallback = () => "reject";

/**
 * Processes an application message of the group: only a PrivateMessage whose (clear) content type
 * is application, checked before ts-mls reads it, and only an application message comes out. A
 * proposal or a commit, whatever the relay called it, never changes the group through this path.
 */
export async function processIncoming(state: ClientState, bytes: Uint8Array): Promise<Processed> {
  const cs = await suite();
  const decoded = decodeMlsMessage(bytes, 0);
  if (!decoded) throw new Error("not an MLS message");
  const msg = decoded[0];
  if (msg.wireformat !== "mls_private_message") throw new Error("an application message must be a PrivateMessage");
  if (msg.privateMessage.contentType !== "application") throw new Error("not an application message");
  const out = await processMessage(msg, state, emptyPskIndex, rejectAll, cs);
  if (out.kind !== "applicationMessage") throw new Error("not an application message");
  // processMessage verified the content's signature with the key of the leaf that the sender
  // data names: that leaf's credential is the authenticated sender.
  return { newState: out.newState, application: out.message, sender: await senderLeaf(state, msg.privateMessage) };
}

/** A proposal as the commit that applies it lists it, with the leaf that sent it. */
export interface ProposalFrom {
  proposal: Proposal;
  sender?: number;
}

export interface Handshake {
  /** The group after the message, not yet adopted: the caller checks a commit before keeping it. */
  newState: ClientState;
  /** A commit: who made it, what it applies and the data it carries. */
  commit?: {
    committer: number;
    proposals: ProposalFrom[];
    authenticatedData: Uint8Array;
    /** The commit removes this device: newState is the old epoch, marked removed. */
    removesMe: boolean;
  };
  /** A proposal: who sent it and what it proposes. */
  proposal?: ProposalFrom;
  /**
   * Refused by the group's rules (newState is `state`): a proposal, with its reference (base64) so
   * that a commit that names it is refused for the same reason; or a commit that carries a refused
   * proposal type or names a proposal refused before.
   */
  refused?: Fail & { ref?: string; from?: string };
}

/** Judges a proposal against the group's rules in `state` (groups.judgeProposal). */
export type ProposalJudge = (state: ClientState, proposal: Proposal, sender: number | undefined) => Fail | undefined;

const REFUSED_TYPES = new Set(["psk", "reinit", "external_init"]);

/**
 * Processes a proposal or a commit (a PublicMessage sent by a member, of the content type the relay
 * delivered it as, checked before ts-mls reads it) without touching `state` (ts-mls states are
 * immutable values): the result is a new state that the caller may adopt or drop. A proposal that
 * `judge` refuses is never kept; a commit that carries a refused proposal type, or names a proposal
 * refused before (`refusedRefs`: reference → why), is refused unread.
 */
export async function processHandshake(
  state: ClientState,
  bytes: Uint8Array,
  expect: "proposal" | "commit",
  judge: ProposalJudge,
  refusedRefs: Record<string, Fail> = {},
): Promise<Handshake> {
  const cs = await suite();
  const decoded = decodeMlsMessage(bytes, 0);
  if (!decoded || decoded[0].wireformat !== "mls_public_message") throw new Error("a handshake message must be a PublicMessage");
  const pm = decoded[0].publicMessage;
  const content = pm.content;
  if (content.contentType !== expect) throw new Error(`not a ${expect}`);
  if (content.sender.senderType !== "member") throw new Error("only members send handshake messages here");
  const committer = content.sender.leafIndex;
  if (content.contentType === "commit") {
    const refused = refusedInCommit(state, committer, content.commit.proposals, refusedRefs);
    if (refused) return { newState: state, refused };
  }
  let seen: ProposalFrom[] | undefined;
  let refusal: Fail | undefined;
  const out = await processMessage(
    decoded[0],
    state,
    emptyPskIndex,
    (incoming) => {
      if (incoming.kind === "commit") {
        seen = incoming.proposals.map((p) => ({ proposal: p.proposal, sender: p.senderLeafIndex }));
        return "accept";
      }
      refusal = judge(state, incoming.proposal.proposal, incoming.proposal.senderLeafIndex);
      return refusal ? "reject" : "accept";
    },
    cs,
  );
  if (content.contentType === "proposal") {
    if (refusal) {
      const ref = await makeProposalRef({ wireformat: "mls_public_message", content, auth: pm.auth }, cs.hash);
      return { newState: state, refused: { ...refusal, ref: bytesToBase64(ref), from: handleAt(state, committer) } };
    }
    return { newState: out.newState, proposal: { proposal: content.proposal, sender: committer } };
  }
  return {
    newState: out.newState,
    commit: {
      committer,
      proposals: seen ?? [],
      authenticatedData: content.authenticatedData,
      removesMe: out.newState.groupActiveState.kind === "removedFromGroup",
    },
  };
}

/** Why a commit is refused before it is read: a proposal type the product does not use, or a refused proposal. */
function refusedInCommit(
  state: ClientState,
  committer: number,
  proposals: readonly ProposalOrRef[],
  refusedRefs: Record<string, Fail>,
): Fail | undefined {
  for (const p of proposals) {
    if (p.proposalOrRefType === "proposal" && !isKnownType(p.proposal)) return { refusal: PolicyRefusal.PROPOSAL_TYPE_REFUSED, who: handleAt(state, committer) };
    if (p.proposalOrRefType === "reference") {
      // `who` there is the member who sent the refused proposal.
      const earlier = refusedRefs[bytesToBase64(p.reference)];
      if (earlier) return { refusal: PolicyRefusal.PROPOSAL_REFUSED, who: earlier.who };
    }
  }
  return undefined;
}

function isKnownType(p: Proposal): boolean {
  return typeof p.proposalType === "string" && !REFUSED_TYPES.has(p.proposalType);
}

/** The leaf that sent `pm`, read in `state` as it was before processing `pm`. */
async function senderLeaf(state: ClientState, pm: PrivateMessage): Promise<Leaf> {
  const cs = await suite();
  const epoch =
    pm.epoch === state.groupContext.epoch
      ? { senderDataSecret: state.keySchedule.senderDataSecret, ratchetTree: state.ratchetTree }
      : state.historicalReceiverData.get(pm.epoch);
  if (!epoch) throw new Error("no secrets for the message's epoch");
  const data = await decryptSenderData(pm, epoch.senderDataSecret, cs);
  if (!data) throw new Error("unreadable sender data");
  const leaf = leafOf(epoch.ratchetTree[data.leafIndex * 2], data.leafIndex);
  if (!leaf?.basic) throw new Error("the sender's leaf has no basic credential");
  return leaf;
}

export function epochOf(state: ClientState): bigint {
  return state.groupContext.epoch;
}

export function encodeState(state: ClientState): Uint8Array {
  return encodeGroupState(state);
}

export function decodeState(bytes: Uint8Array): ClientState {
  const decoded = decodeGroupState(bytes, 0);
  if (!decoded) throw new Error("corrupt group state");
  return { ...decoded[0], clientConfig: defaultClientConfig };
}
