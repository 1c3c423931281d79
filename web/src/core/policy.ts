// The rules of a groupe de parole, checked by this client before it applies a commit, the same way
// the relay and the C++ clients check them (lib/policy/policy.cpp is the reference; this is a
// port written from it, not generated). Only facilitators add and remove others (anyone may leave by
// asking to); a professional comes in only with a valid invitation signed by a facilitator's leaf
// key; in an open-to-peers group any member may add a peer; banned accounts never come back; only
// facilitators change the rules, and someone must still lead; a group's first commit sets its rules.
//
// Pure functions over plain values (the facts come from comparing the group before and after the
// commit, in messenger.ts); signature checks are the only asynchronous part.
import { fromBinary } from "@bufbuild/protobuf";
import { concat, toHex, utf8 } from "./bytes";
import { InvitationSchema, InviteeType, JoinRule, PolicyRefusal, Role, type CommitData, type GroupPolicy, type Invitation, type SignedInvitation } from "./proto";
import { verify } from "./signer";

/** MLS group context extension: the encoded cercle.v1.GroupPolicy. */
export const POLICY_EXTENSION = 0xf0a0;
/** MLS leaf extension: one byte, the account type (1 peer, 2 professional; absent: a peer). */
export const ACCOUNT_TYPE_EXTENSION = 0xf0a1;
/** MLS leaf extension: the device's report key, an X25519 public key (32 bytes) reports are sealed to. */
export const REPORT_KEY_EXTENSION = 0xf0a2;
export const INVITATION_LABEL = "cercle-invitation-v1";

export type Kind = "peer" | "professional";

export interface Member {
  handle: string;
  leaf: number;
  kind: Kind;
  signatureKey: Uint8Array;  // Ed25519 public key of the leaf.
}

export interface Added {
  handle: string;
  kind: Kind;
}

export interface Removed {
  leaf: number;
  selfRequested: boolean;  // A Remove proposal sent by the removed member itself (leaving).
}

/** What a commit does. */
export interface Change {
  committerLeaf: number;
  added: Added[];
  removed: Removed[];
  newPolicy?: GroupPolicy;  // When the commit changes the group context's rules.
  data?: CommitData;        // The commit's authenticated data.
}

/** The group as it is before the commit. */
export interface Group {
  conversationId: Uint8Array;
  policy?: GroupPolicy;  // Undefined: a new group, before its first commit.
  members: Member[];
  usedInvitations: Set<string>;       // Nonces (hex) already used in this group.
  revokedInvitations: Set<string>;    // Nonces (hex) revoked by a facilitator.
  declinedInvitations?: Set<string>;  // Nonces (hex) their invitee declined (relay-attested); none when absent.
}

/**
 * Why a commit or a proposal is refused: cercle.v1.PolicyRefusal, the same code the C++ check gives
 * for the same facts (lib/policy/policy_cases.json). Never UNSPECIFIED in a refusal.
 */
export type Refusal = PolicyRefusal;

/** The words of each refusal in i18n-fr.ts and i18n-en.ts: "refusal_<key>". */
const REFUSAL_KEYS: Record<Exclude<PolicyRefusal, PolicyRefusal.UNSPECIFIED>, string> = {
  [PolicyRefusal.NOT_A_MEMBER]: "notMember",
  [PolicyRefusal.FIRST_COMMIT_SETS_RULES]: "firstCommitSetsRules",
  [PolicyRefusal.FIRST_RULES_FROM_CREATOR]: "firstRulesFromCreator",
  [PolicyRefusal.ONLY_FACILITATOR_CHANGES_RULES]: "onlyFacilitatorChangesRules",
  [PolicyRefusal.NO_FACILITATOR_LEFT]: "noFacilitatorLeft",
  [PolicyRefusal.ONLY_FACILITATOR_REMOVES]: "onlyFacilitatorRemoves",
  [PolicyRefusal.BANNED]: "banned",
  [PolicyRefusal.PROFESSIONAL_WITHOUT_INVITATION]: "professionalNeedsInvitation",
  [PolicyRefusal.ONLY_FACILITATOR_ADDS]: "onlyFacilitatorAdds",
  [PolicyRefusal.ONLY_FACILITATOR_ADDS_INVITED]: "onlyFacilitatorAddsInvited",
  [PolicyRefusal.INVITATION_UNREADABLE]: "invitationUnreadable",
  [PolicyRefusal.INVITATION_NOT_FROM_FACILITATOR]: "invitationNotFromFacilitator",
  [PolicyRefusal.INVITATION_SIGNATURE]: "invitationSignature",
  [PolicyRefusal.INVITATION_OTHER_GROUP]: "invitationOtherGroup",
  [PolicyRefusal.INVITATION_OTHER_PERSON]: "invitationOtherPerson",
  [PolicyRefusal.PROFESSIONAL_INVITED_AS_PEER]: "professionalInvitedAsPeer",
  [PolicyRefusal.INVITATION_EXPIRED]: "invitationExpired",
  [PolicyRefusal.INVITATION_USED]: "invitationUsed",
  [PolicyRefusal.INVITATION_REVOKED]: "invitationRevoked",
  [PolicyRefusal.ACCOUNT_TYPE_CHANGED]: "accountTypeChanged",
  [PolicyRefusal.IDENTITY_CHANGED]: "identityChanged",
  [PolicyRefusal.SIGNATURE_KEY_CHANGED]: "signatureKeyChanged",
  [PolicyRefusal.CREDENTIAL_UNSUPPORTED]: "credentialUnsupported",
  [PolicyRefusal.PROPOSAL_TYPE_REFUSED]: "proposalTypeRefused",
  [PolicyRefusal.PROPOSAL_REFUSED]: "proposalRefused",
  [PolicyRefusal.RULES_REMOVED]: "rulesRemoved",
  [PolicyRefusal.RULES_UNREADABLE]: "rulesUnreadable",
  [PolicyRefusal.DATA_UNREADABLE]: "dataUnreadable",
  [PolicyRefusal.INVITATION_DECLINED]: "invitationDeclined",
};

/**
 * The i18n key suffix of a refusal. Notices stored before the codes were numbers hold the suffix
 * itself, returned as it is; a code this build does not know reads as rules it cannot read.
 */
export function refusalKey(reason: Refusal | string): string {
  if (typeof reason === "string") return reason;
  return (REFUSAL_KEYS as Record<number, string | undefined>)[reason] ?? REFUSAL_KEYS[PolicyRefusal.RULES_UNREADABLE];
}

export interface Fail {
  refusal: Refusal;
  who?: string;
}

export interface Verdict {
  refusal?: Refusal;
  who?: string;          // The handle the refusal is about, when there is one.
  usedNonces: string[];  // Invitations (hex nonces) the commit uses.
}

export type VerifyFn = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => Promise<boolean>;

export function roleOf(policy: GroupPolicy, handle: string): Role {
  for (const grant of policy.roles) if (grant.handle === handle) return grant.role;
  return Role.ROLE_MEMBER;
}

export function accompanyingOf(policy: GroupPolicy, handle: string): string {
  for (const grant of policy.roles) if (grant.handle === handle) return grant.accompanying;
  return "";
}

export function isBanned(policy: GroupPolicy, handle: string): boolean {
  return policy.banned.includes(handle);
}

export function isMuted(policy: GroupPolicy, handle: string): boolean {
  return policy.muted.includes(handle);
}

/** The bytes an inviter signs: "cercle-invitation-v1" || 0x00 || invitation. */
export function invitationTranscript(encodedInvitation: Uint8Array): Uint8Array {
  return concat(utf8(INVITATION_LABEL), Uint8Array.of(0), encodedInvitation);
}

/** The invitation, if `signed` verifies with one of `publicKeys`; else undefined. */
export async function verifyInvitation(
  signed: SignedInvitation,
  publicKeys: Uint8Array[],
  verifyFn: VerifyFn = verify,
): Promise<Invitation | undefined> {
  if (signed.signature.length !== 64) return undefined;
  let invitation: Invitation;
  try {
    invitation = fromBinary(InvitationSchema, signed.invitation);
  } catch {
    return undefined;
  }
  const transcript = invitationTranscript(signed.invitation);
  for (const key of publicKeys) {
    if (key.length !== 32) continue;
    try {
      if (await verifyFn(key, transcript, signed.signature)) return invitation;
    } catch {
      // A key WebCrypto will not import verifies nothing.
    }
  }
  return undefined;
}

/** Account type from a leaf's 0xF0A1 extension data (absent or anything else: a peer). */
export function kindOfExtension(data: Uint8Array | undefined): Kind {
  return data && data.length === 1 && data[0] === 2 ? "professional" : "peer";
}

export function kindExtension(kind: Kind): Uint8Array {
  return Uint8Array.of(kind === "professional" ? 2 : 1);
}

/**
 * A member's leaf stays who it is: an Update (or a committer's UpdatePath leaf) keeps the account
 * (credential identity), its type (0xF0A1) and its signature key. Returns why not, or undefined.
 */
export function leafChange(before: Member, after: Member): Refusal | undefined {
  if (after.handle !== before.handle) return PolicyRefusal.IDENTITY_CHANGED;
  if (after.kind !== before.kind) return PolicyRefusal.ACCOUNT_TYPE_CHANGED;
  if (!equal(after.signatureKey, before.signatureKey)) return PolicyRefusal.SIGNATURE_KEY_CHANGED;
  return undefined;
}

/** What a proposal does, as the rules see it. */
export type ProposalFacts =
  | { type: "add"; handle: string; kind: Kind }
  | { type: "update"; leaf: Member }  // The sender's leaf as the Update would make it.
  | { type: "remove"; removed: number }
  | { type: "groupContextExtensions" }
  | { type: "credential" }  // An Add or Update whose credential is not a basic one (naming an account).
  | { type: "refused" };  // PreSharedKey, ReInit, ExternalInit, or a type this product does not use.

/**
 * Checks a proposal against the group's rules (before this device keeps it, and before it commits
 * it): an Update keeps who the member is; a member who is not a facilitator removes only themselves
 * and adds only a peer to a group open to peers; only facilitators change the group context; the
 * proposal types the product does not use are refused. Without rules (a direct conversation), nobody
 * adds anyone but another device of a member, removes anyone but themselves, or changes the context.
 */
export function checkProposal(g: Pick<Group, "policy" | "members">, senderLeaf: number | undefined, p: ProposalFacts): Fail | undefined {
  const sender = senderLeaf === undefined ? undefined : g.members.find((m) => m.leaf === senderLeaf);
  if (!sender) return { refusal: PolicyRefusal.NOT_A_MEMBER };
  if (p.type === "refused") return { refusal: PolicyRefusal.PROPOSAL_TYPE_REFUSED, who: sender.handle };
  if (p.type === "credential") return { refusal: PolicyRefusal.CREDENTIAL_UNSUPPORTED, who: sender.handle };
  if (p.type === "update") {
    const why = leafChange(sender, p.leaf);
    return why ? { refusal: why, who: sender.handle } : undefined;
  }
  const facilitator = !!g.policy && roleOf(g.policy, sender.handle) === Role.FACILITATOR;
  switch (p.type) {
    case "remove":
      return p.removed === sender.leaf || facilitator ? undefined : { refusal: PolicyRefusal.ONLY_FACILITATOR_REMOVES };
    case "groupContextExtensions":
      return facilitator ? undefined : { refusal: PolicyRefusal.ONLY_FACILITATOR_CHANGES_RULES };
    case "add": {
      if (!g.policy) return g.members.some((m) => m.handle === p.handle) ? undefined : { refusal: PolicyRefusal.ONLY_FACILITATOR_ADDS, who: p.handle };
      if (isBanned(g.policy, p.handle)) return { refusal: PolicyRefusal.BANNED, who: p.handle };
      if (facilitator) return undefined;
      if (p.kind === "professional") return { refusal: PolicyRefusal.ONLY_FACILITATOR_ADDS_INVITED, who: p.handle };
      return g.policy.joinRule === JoinRule.OPEN_TO_PEERS ? undefined : { refusal: PolicyRefusal.ONLY_FACILITATOR_ADDS, who: p.handle };
    }
  }
}

/**
 * A member who stays at the same leaf with the same handle keeps their account type: a commit (an
 * UpdatePath leaf, say) that drops a professional's mark, or gives a peer one, is refused. Returns
 * the handle of the first member whose type changes, or undefined.
 */
export function accountTypeChange(before: readonly Member[], after: readonly Member[]): string | undefined {
  for (const a of after) {
    for (const m of before) {
      if (a.leaf === m.leaf && a.handle === m.handle && a.kind !== m.kind) return a.handle;
    }
  }
  return undefined;
}

function peek(signed: SignedInvitation): Invitation | undefined {
  try {
    return fromBinary(InvitationSchema, signed.invitation);
  } catch {
    return undefined;
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}


async function checkInvitation(
  g: Group,
  policy: GroupPolicy,
  signed: SignedInvitation,
  added: Added,
  nowMs: number,
  verifyFn: VerifyFn,
): Promise<Fail | { nonce: string }> {
  const claimed = peek(signed);
  if (!claimed) return { refusal: PolicyRefusal.INVITATION_UNREADABLE, who: added.handle };
  // Every leaf of the inviter (a facilitator may have several devices) may have signed it.
  const keys = g.members.filter((m) => m.handle === claimed.inviter).map((m) => m.signatureKey);
  if (keys.length === 0 || roleOf(policy, claimed.inviter) !== Role.FACILITATOR) {
    return { refusal: PolicyRefusal.INVITATION_NOT_FROM_FACILITATOR, who: added.handle };
  }
  const invitation = await verifyInvitation(signed, keys, verifyFn);
  if (!invitation) return { refusal: PolicyRefusal.INVITATION_SIGNATURE, who: added.handle };
  if (!equal(invitation.conversationId, g.conversationId)) return { refusal: PolicyRefusal.INVITATION_OTHER_GROUP, who: added.handle };
  if (invitation.invitee !== added.handle) return { refusal: PolicyRefusal.INVITATION_OTHER_PERSON, who: added.handle };
  if (added.kind === "professional" && invitation.inviteeType !== InviteeType.INVITEE_PROFESSIONAL) {
    return { refusal: PolicyRefusal.PROFESSIONAL_INVITED_AS_PEER, who: added.handle };
  }
  // Compared as integers: a Number loses milliseconds past 2^53, which the C++ int64 keeps.
  if (invitation.expiresAtMs <= BigInt(Math.floor(nowMs))) return { refusal: PolicyRefusal.INVITATION_EXPIRED, who: added.handle };
  const nonce = toHex(invitation.nonce);
  if (g.usedInvitations.has(nonce)) return { refusal: PolicyRefusal.INVITATION_USED, who: added.handle };
  if (g.revokedInvitations.has(nonce)) return { refusal: PolicyRefusal.INVITATION_REVOKED, who: added.handle };
  if (g.declinedInvitations?.has(nonce)) return { refusal: PolicyRefusal.INVITATION_DECLINED, who: added.handle };
  return { nonce };
}

/** The invitation the commit carries for `handle`, if any. */
function invitationFor(c: Change, handle: string): SignedInvitation | undefined {
  return c.data?.invitations.find((s) => peek(s)?.invitee === handle);
}

function checkPolicyChange(g: Group, c: Change, committer: Member): Refusal | undefined {
  const next = c.newPolicy!;
  if (!g.policy) {
    if (g.members.length !== 1) return PolicyRefusal.FIRST_RULES_FROM_CREATOR;
  } else if (roleOf(g.policy, committer.handle) !== Role.FACILITATOR) {
    return PolicyRefusal.ONLY_FACILITATOR_CHANGES_RULES;
  }
  // Someone must still lead the group: a facilitator among those who stay or join.
  for (const grant of next.roles) {
    if (grant.role !== Role.FACILITATOR) continue;
    const stays = g.members.some((m) => m.handle === grant.handle && !c.removed.some((r) => r.leaf === m.leaf));
    const joins = c.added.some((a) => a.handle === grant.handle);
    if (stays || joins) return undefined;
  }
  return PolicyRefusal.NO_FACILITATOR_LEFT;
}

/** Checks a commit against the group's rules at `nowMs` (the relay's time of the commit). */
export async function checkCommit(g: Group, c: Change, nowMs: number, verifyFn: VerifyFn = verify): Promise<Verdict> {
  const refuse = (refusal: Refusal, who?: string): Verdict => ({ refusal, who, usedNonces: [] });
  const committer = g.members.find((m) => m.leaf === c.committerLeaf);
  if (!committer) return refuse(PolicyRefusal.NOT_A_MEMBER);
  if (!g.policy && !c.newPolicy) return refuse(PolicyRefusal.FIRST_COMMIT_SETS_RULES);
  if (c.newPolicy) {
    const why = checkPolicyChange(g, c, committer);
    if (why) return refuse(why);
  }
  // The rules in force are the current ones; for a new group, the ones its creator sets now.
  const current = g.policy ?? c.newPolicy!;
  const after = c.newPolicy ?? current;
  const facilitator = roleOf(current, committer.handle) === Role.FACILITATOR;
  for (const r of c.removed) {
    if (!r.selfRequested && !facilitator) return refuse(PolicyRefusal.ONLY_FACILITATOR_REMOVES);
  }
  const used: string[] = [];
  for (const added of c.added) {
    if (isBanned(after, added.handle)) return refuse(PolicyRefusal.BANNED, added.handle);
    const invitation = invitationFor(c, added.handle);
    if (added.kind === "professional" && !invitation) return refuse(PolicyRefusal.PROFESSIONAL_WITHOUT_INVITATION, added.handle);
    if (!invitation) {
      if (!facilitator && current.joinRule !== JoinRule.OPEN_TO_PEERS) return refuse(PolicyRefusal.ONLY_FACILITATOR_ADDS, added.handle);
      continue;
    }
    const checked = await checkInvitation(g, current, invitation, added, nowMs, verifyFn);
    if ("refusal" in checked) return refuse(checked.refusal, checked.who);
    if (!facilitator) return refuse(PolicyRefusal.ONLY_FACILITATOR_ADDS_INVITED, added.handle);
    used.push(checked.nonce);
  }
  return { usedNonces: used };
}
