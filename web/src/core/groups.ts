// Groupes de parole on this client: reading a group's rules and members from its MLS state, the
// facts of a commit (the group before and after it, compared leaf by leaf), the rules check before
// a commit is adopted (policy.ts), and what the group's events mean. Used by messenger.ts.
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { equalBytes, toHex } from "./bytes";
import * as mls from "./mls";
import { deviceFingerprint, type Verification } from "./verify";
import {
  accountTypeChange,
  accompanyingOf,
  checkCommit,
  checkProposal,
  isMuted,
  leafChange,
  roleOf,
  verifyInvitation,
  type Change,
  type Fail,
  type Group,
  type Member,
  type Refusal,
} from "./policy";
import {
  CommitDataSchema,
  GroupEventSchema,
  GroupPolicySchema,
  InvitationSchema,
  InviteeType,
  JoinRule,
  PolicyRefusal,
  Role,
  SignedInvitationSchema,
  type SignedInvitation,
  type GroupEvent,
  type SignedSeanceEvent,
  type GroupPolicy,
} from "./proto";

/** An invitation the group was shown (verified), and what became of it. */
export interface TrackedInvitation {
  invitee: string;
  inviter: string;
  professional: boolean;
  accompanying: string;
  accepted?: boolean;
  acceptedMs?: number;  // The relay's time of the acceptance (the objection delay counts from it).
  revoked?: boolean;
  declined?: boolean;   // The invitee said no (GroupEvent.declined): never used.
  signed?: Uint8Array;  // The encoded SignedInvitation (verified): the inviter's client adds with it.
  expiresAtMs?: number;  // When it can no longer be used (the inviter's clock).
  objected?: boolean;
  used?: boolean;
}

export type RosterRole = "facilitator" | "invitedProfessional" | "member";

/** One account of the group, as every member sees it. */
export interface RosterEntry {
  handle: string;
  self: boolean;
  professional: boolean;  // From the account type in its leaves (never hidden).
  role: RosterRole;       // From the group's rules.
  accompanying: string;   // An invited professional: the member they accompany, if any.
  devices: string[];      // Each device's fingerprint (verify.ts), one per leaf: an extra device shows.
  verification?: Verification;  // Set by the messenger from what this device's user verified.
  unapproved?: string[];  // Device fingerprints its owner's chain did not list (set by the messenger).
}

/** The parts of the rules the member sees. */
export interface RulesView {
  retentionDays: number;
  objectionHours: number;  // Members may object to a professional's invitation for this long.
  charter: string;
  open: boolean;
  relatives: boolean;
  mutedMe: boolean;
  /** Séance rules, if the group has them (seance-view.ts gates the composer with them). */
  seances?: { writeOnlyInSeance: boolean; turnTaking: boolean; eraseAfter: boolean; eraseDelayMinutes: number };
}

/** Something that happened in the group, shown in the conversation (words in i18n.ts). */
export type GroupNotice =
  | { type: "invited"; by: string; invitee: string; professional: boolean; accompanying: string; id?: string }
  | { type: "accepted" | "revoked" | "objected" | "declined"; invitee?: string; professional?: boolean }
  | { type: "joinRequest"; who: string }
  | { type: "deleted" }
  | { type: "joined"; who: string; professional: boolean }
  | { type: "left" | "removed"; who: string }
  | { type: "rulesChanged" }
  | { type: "youJoined" | "youLeft" }
  | { type: "refused"; reason: Refusal; who?: string }
  | { type: "proposalRefused"; reason: Refusal; who?: string }
  | { type: "broken" }
  | { type: "newDevice"; who: string; fingerprint: string; self: boolean; verifyAgain: boolean }
  /** A new device its owner's signed chain does not list (or whose chain this device refuses). */
  | { type: "unapprovedDevice"; who: string; fingerprint: string; self: boolean }
  | { type: "ignored"; what: "invitation" | "revocation" | "deletion" | "event" | "proposal" }
  | { type: "joinRefused"; reason: JoinRefusal; who?: string };

/** Why this device did not join a group it was given a Welcome to (words in i18n.ts, "join_<code>"). */
export type JoinRefusal = "adderNotAllowed" | "notAccepted" | "credentialUnsupported" | "notInGroup";

/** Warnings are shown (and said) as such. */
export function isWarning(n: GroupNotice): boolean {
  return n.type === "refused" || n.type === "proposalRefused" || n.type === "broken" || n.type === "ignored" || n.type === "joinRefused" || n.type === "newDevice" || n.type === "unapprovedDevice";
}

export function decodePolicy(bytes: Uint8Array): GroupPolicy {
  return fromBinary(GroupPolicySchema, bytes);
}

/** The group's rules, if it has readable ones. */
export function rulesOf(state: mls.GroupStateHandle): GroupPolicy | undefined {
  const bytes = mls.policyBytes(state);
  if (!bytes) return undefined;
  try {
    return decodePolicy(bytes);
  } catch {
    return undefined;
  }
}

function rosterRole(r: Role): RosterRole {
  return r === Role.FACILITATOR ? "facilitator" : r === Role.INVITED_PROFESSIONAL ? "invitedProfessional" : "member";
}

/** Who is in the group (one entry per account), facilitators first, and the rules' visible parts. */
export function describe(state: mls.GroupStateHandle, me: string): { roster: RosterEntry[]; rules?: RulesView } {
  const rules = rulesOf(state);
  const byHandle = new Map<string, RosterEntry>();
  for (const leaf of mls.leaves(state)) {
    const entry = byHandle.get(leaf.handle) ?? {
      handle: leaf.handle,
      self: leaf.handle === me,
      professional: false,
      role: rules ? rosterRole(roleOf(rules, leaf.handle)) : "member",
      accompanying: rules ? accompanyingOf(rules, leaf.handle) : "",
      devices: [],
    };
    entry.devices.push(deviceFingerprint(leaf.signatureKey));
    // An account with a professional leaf is a professional, whatever its other devices say.
    entry.professional ||= leaf.professional;
    byHandle.set(leaf.handle, entry);
  }
  const order = (e: RosterEntry) => (e.role === "facilitator" ? 0 : 1);
  const roster = [...byHandle.values()].sort((a, b) => order(a) - order(b) || a.handle.localeCompare(b.handle));
  return {
    roster,
    rules: rules && {
      retentionDays: rules.retentionDays,
      objectionHours: rules.objectionHours,
      charter: rules.charter,
      open: rules.joinRule === JoinRule.OPEN_TO_PEERS,
      relatives: rules.relativesAdmitted,
      mutedMe: isMuted(rules, me),
      seances: rules.seances && (({ writeOnlyInSeance, turnTaking, eraseAfter, eraseDelayMinutes }) => ({ writeOnlyInSeance, turnTaking, eraseAfter, eraseDelayMinutes }))(rules.seances),
    },
  };
}

function asMember(l: mls.Leaf): Member {
  return { handle: l.handle, leaf: l.leaf, kind: l.professional ? "professional" : "peer", signatureKey: l.signatureKey };
}

/**
 * Judges a proposal against the rules of the group in `state` (policy.checkProposal): used before a
 * received proposal is kept, and before this device commits a pending one.
 */
export function judgeProposal(state: mls.GroupStateHandle, proposal: mls.Proposal, sender: number | undefined): Fail | undefined {
  const members = mls.leaves(state).map(asMember);
  const bytes = mls.policyBytes(state);
  let policy: GroupPolicy | undefined;
  if (bytes) {
    try {
      policy = decodePolicy(bytes);
    } catch {
      return { refusal: PolicyRefusal.RULES_UNREADABLE };
    }
  }
  return checkProposal({ policy, members }, sender, mls.proposalFacts(proposal, sender));
}

/** The pending proposals a commit of this device may take: those the group's rules allow. */
export function allowedPending(state: mls.GroupStateHandle): (p: mls.ProposalWithSender) => boolean {
  return (p) => judgeProposal(state, p.proposal, p.senderLeafIndex) === undefined;
}

/**
 * What a commit must never do, whatever the group's rules: carry a proposal type the product does
 * not use, change the group context unless a facilitator proposed it, give a member's leaf another
 * account, account type or signature key, or seat a leaf whose credential names no account.
 */
function forbidden(before: mls.GroupStateHandle, c: NonNullable<mls.Handshake["commit"]>, after: mls.Leaf[], policy?: GroupPolicy): Fail | undefined {
  const membersBefore = mls.leaves(before);
  const handleOf = (leaf: number | undefined) => membersBefore.find((m) => m.leaf === leaf)?.handle;
  for (const p of c.proposals) {
    const sender = p.sender ?? c.committer;
    const type = p.proposal.proposalType;
    if (type === "psk" || type === "reinit" || type === "external_init" || typeof type !== "string") {
      return { refusal: PolicyRefusal.PROPOSAL_TYPE_REFUSED, who: handleOf(sender) };
    }
    if (type === "group_context_extensions" && policy && roleOf(policy, handleOf(sender) ?? "") !== Role.FACILITATOR) {
      return { refusal: PolicyRefusal.ONLY_FACILITATOR_CHANGES_RULES };
    }
  }
  const removed = new Set(c.proposals.flatMap((p) => (p.proposal.proposalType === "remove" ? [p.proposal.remove.removed] : [])));
  for (const a of after) {
    if (!a.basic) return { refusal: PolicyRefusal.CREDENTIAL_UNSUPPORTED };
    const b = membersBefore.find((m) => m.leaf === a.leaf);
    if (!b || removed.has(a.leaf)) continue;  // A new member (an Add may fill a removed member's leaf).
    const why = leafChange(asMember(b), asMember(a));
    if (why) return { refusal: why, who: b.handle };
  }
  return undefined;
}

function sameMember(a: Member, b: Member): boolean {
  return a.leaf === b.leaf && a.handle === b.handle && equalBytes(a.signatureKey, b.signatureKey);
}

export interface CommitContext {
  conversationId: Uint8Array;
  /** The relay calls it a group: a commit that leaves it without rules is refused. */
  group: boolean;
  invitations: Record<string, TrackedInvitation>;
  me: string;
}

export interface CommitVerdict {
  refusal?: Refusal;
  who?: string;
  usedNonces: string[];
  /** What the group sees of an accepted commit. */
  notices: GroupNotice[];
}

type Commit = NonNullable<mls.Handshake["commit"]>;

const refuse = (refusal: Refusal, who?: string): CommitVerdict => ({ refusal, who, usedNonces: [], notices: [] });

/** Whether the member at `leaf` asked to leave by a proposal of its own in this commit. */
function selfRequested(c: Commit, leaf: number): boolean {
  return c.proposals.some((p) => p.proposal.proposalType === "remove" && p.proposal.remove.removed === leaf && p.sender === leaf);
}

/**
 * A commit that removes this device leaves it no tree to compare: it checks only that removing it
 * was allowed (its own leave, or a facilitator's removal).
 */
function verifyMyRemoval(before: mls.GroupStateHandle, c: Commit, oldBytes: Uint8Array | undefined): CommitVerdict {
  const left: CommitVerdict = { usedNonces: [], notices: [{ type: "youLeft" }] };
  if (!oldBytes) return left;
  let rules: GroupPolicy;
  try {
    rules = decodePolicy(oldBytes);
  } catch {
    return refuse(PolicyRefusal.RULES_UNREADABLE);
  }
  const committer = mls.leaves(before).map(asMember).find((m) => m.leaf === c.committer);
  if (!committer) return refuse(PolicyRefusal.NOT_A_MEMBER);
  if (!selfRequested(c, mls.ownLeaf(before)) && roleOf(rules, committer.handle) !== Role.FACILITATOR) {
    return refuse(PolicyRefusal.ONLY_FACILITATOR_REMOVES);
  }
  return left;
}

/** The group before the commit, as policy.checkCommit reads it. */
function groupBefore(ctx: CommitContext, before: mls.GroupStateHandle): Group {
  const nonces = (pick: (i: TrackedInvitation) => boolean | undefined) =>
    new Set(Object.entries(ctx.invitations).filter(([, i]) => pick(i)).map(([n]) => n));
  return {
    conversationId: ctx.conversationId,
    members: mls.leaves(before).map(asMember),
    usedInvitations: nonces((i) => i.used),
    revokedInvitations: nonces((i) => i.revoked),
    declinedInvitations: nonces((i) => i.declined),
  };
}

/**
 * The facts of the commit (who came, who went, the new rules, its data) into `change`, and the
 * rules before it into `g`; a refusal when something cannot be read or a member's type changed.
 */
function readChange(g: Group, change: Change, c: Commit, after: Member[], oldBytes?: Uint8Array, newBytes?: Uint8Array): CommitVerdict | undefined {
  try {
    if (oldBytes) g.policy = decodePolicy(oldBytes);
    if (newBytes && (!oldBytes || !equalBytes(oldBytes, newBytes))) change.newPolicy = decodePolicy(newBytes);
  } catch {
    return refuse(PolicyRefusal.RULES_UNREADABLE);
  }
  // A professional stays marked as one, a peer stays a peer (as the C++ clients check); forbidden()
  // caught it at a staying leaf already, this at a leaf whose member came back by Remove and Add.
  const changedType = accountTypeChange(g.members, after);
  if (changedType !== undefined) return refuse(PolicyRefusal.ACCOUNT_TYPE_CHANGED, changedType);
  for (const m of g.members) {
    if (!after.some((a) => sameMember(a, m))) change.removed.push({ leaf: m.leaf, selfRequested: selfRequested(c, m.leaf) });
  }
  for (const a of after) {
    if (!g.members.some((m) => sameMember(a, m))) change.added.push({ handle: a.handle, kind: a.kind });
  }
  if (c.authenticatedData.length === 0) return undefined;
  try {
    change.data = fromBinary(CommitDataSchema, c.authenticatedData);
  } catch {
    return refuse(PolicyRefusal.DATA_UNREADABLE);
  }
  return undefined;
}

/** What members see of an accepted commit: who came, who went, whether the rules changed. */
function noticesOf(g: Group, change: Change, after: Member[], me: string): GroupNotice[] {
  const notices: GroupNotice[] = [];
  const handlesBefore = new Set(g.members.map((m) => m.handle));
  const handlesAfter = new Set(after.map((m) => m.handle));
  const seen = new Set<string>();
  for (const a of change.added) {
    if (handlesBefore.has(a.handle) || seen.has(a.handle) || a.handle === me) continue;
    seen.add(a.handle);
    notices.push({ type: "joined", who: a.handle, professional: after.some((m) => m.handle === a.handle && m.kind === "professional") });
  }
  for (const r of change.removed) {
    const who = g.members.find((m) => m.leaf === r.leaf)!.handle;
    if (handlesAfter.has(who) || seen.has(who)) continue;
    seen.add(who);
    notices.push({ type: r.selfRequested ? "left" : "removed", who });
  }
  // Giving the professional who comes in their role is part of adding them, not a change of rules.
  if (g.policy && change.newPolicy && rulesDiffer(g.policy, change.newPolicy, new Set(change.added.map((a) => a.handle)))) {
    notices.push({ type: "rulesChanged" });
  }
  return notices;
}

/**
 * Checks a processed (not yet adopted) commit against the group's rules, exactly as the relay and
 * the C++ clients do: the facts come from comparing the members before and after it (leaf index,
 * signature key and credential), the rules from the group context before and after it, the
 * invitations from its authenticated data. `nowMs` is the relay's time of the commit.
 */
export async function verifyCommit(
  ctx: CommitContext,
  before: mls.GroupStateHandle,
  hs: mls.Handshake,
  nowMs: number,
): Promise<CommitVerdict> {
  const c = hs.commit!;
  const oldBytes = mls.policyBytes(before);
  let current: GroupPolicy | undefined;
  try {
    current = oldBytes ? decodePolicy(oldBytes) : undefined;
  } catch {
    return refuse(PolicyRefusal.RULES_UNREADABLE);
  }
  const bad = forbidden(before, c, c.removesMe ? [] : mls.leaves(hs.newState), current);
  if (bad) return refuse(bad.refusal, bad.who);
  if (c.removesMe) return verifyMyRemoval(before, c, oldBytes);
  const newBytes = mls.policyBytes(hs.newState);
  if (!oldBytes && !newBytes && !ctx.group) return { usedNonces: [], notices: [] };  // A direct conversation.
  if (oldBytes && !newBytes) return refuse(PolicyRefusal.RULES_REMOVED);
  const g = groupBefore(ctx, before);
  const change: Change = { committerLeaf: c.committer, added: [], removed: [] };
  const after = mls.leaves(hs.newState).map(asMember);
  const unreadable = readChange(g, change, c, after, oldBytes, newBytes);
  if (unreadable) return unreadable;
  const verdict = await checkCommit(g, change, nowMs);
  if (verdict.refusal) return refuse(verdict.refusal, verdict.who);
  return { usedNonces: verdict.usedNonces, notices: noticesOf(g, change, after, ctx.me) };
}

/** Whether the rules differ otherwise than by the roles of `newcomers`. */
function rulesDiffer(a: GroupPolicy, b: GroupPolicy, newcomers: Set<string>): boolean {
  const roles = (p: GroupPolicy) =>
    JSON.stringify(p.roles.filter((r) => !newcomers.has(r.handle)).map((r) => [r.handle, r.role, r.accompanying]));
  const rest = (p: GroupPolicy) =>
    JSON.stringify([p.joinRule, p.relativesAdmitted, p.retentionDays, p.charter, p.objectionHours, p.banned, p.muted]);
  return roles(a) !== roles(b) || rest(a) !== rest(b);
}

/**
 * An invitation shown to the group: kept only if it is for this group and verifies with a leaf key
 * of its inviter, a facilitator.
 */
async function readInvitation(
  signed: SignedInvitation,
  state: mls.GroupStateHandle,
  conversationId: Uint8Array,
  facilitator: (handle: string) => boolean,
  tracked: (nonce: Uint8Array) => TrackedInvitation,
): Promise<EventOutcome> {
  let claimed;
  try {
    claimed = fromBinary(InvitationSchema, signed.invitation);
  } catch {
    return { notice: { type: "ignored", what: "invitation" } };
  }
  const keys = mls.leaves(state).filter((l) => l.handle === claimed.inviter).map((l) => l.signatureKey);
  const valid =
    equalBytes(claimed.conversationId, conversationId) &&
    facilitator(claimed.inviter) &&
    (await verifyInvitation(signed, keys)) !== undefined;
  if (!valid) return { notice: { type: "ignored", what: "invitation" } };
  const t = tracked(claimed.nonce);
  t.invitee = claimed.invitee;
  t.inviter = claimed.inviter;
  t.professional = claimed.inviteeType === InviteeType.INVITEE_PROFESSIONAL;
  t.accompanying = claimed.accompanying;
  t.signed = toBinary(SignedInvitationSchema, signed);
  t.expiresAtMs = Number(claimed.expiresAtMs);
  return {
    notice: { type: "invited", by: t.inviter, invitee: t.invitee, professional: t.professional, accompanying: t.accompanying, id: toHex(claimed.nonce) },
  };
}

export interface EventOutcome {
  notice?: GroupNotice;
  /** A facilitator deleted this entry for everyone. */
  deletedSeq?: number;
  /** A séance event, to be checked by seances.ts against this device's own state. */
  seance?: SignedSeanceEvent;
}

/**
 * What a group event (written by the relay) means. What a member can check, it checks: an
 * invitation must verify with a leaf key of its inviter, a facilitator; revocations and deletions
 * must be in a facilitator's name. Updates `invitations`.
 */
export async function readEvent(
  payload: Uint8Array,
  state: mls.GroupStateHandle,
  conversationId: Uint8Array,
  invitations: Record<string, TrackedInvitation>,
  timeMs = 0,
): Promise<EventOutcome> {
  let e: GroupEvent;
  try {
    e = fromBinary(GroupEventSchema, payload);
  } catch {
    return { notice: { type: "ignored", what: "event" } };
  }
  const rules = rulesOf(state);
  const facilitator = (handle: string) => !!rules && roleOf(rules, handle) === Role.FACILITATOR;
  const tracked = (nonce: Uint8Array) => (invitations[toHex(nonce)] ??= { invitee: "", inviter: "", professional: false, accompanying: "" });
  const mark = (nonce: Uint8Array, set: (t: TrackedInvitation) => void, type: "accepted" | "revoked" | "objected" | "declined"): EventOutcome => {
    const t = tracked(nonce);
    set(t);
    return { notice: { type, invitee: t.invitee || undefined, professional: t.professional } };
  };
  switch (e.kind.case) {
    case "invited":
      return readInvitation(e.kind.value, state, conversationId, facilitator, tracked);
    case "accepted":
      return mark(e.kind.value, (t) => {
        t.accepted = true;
        t.acceptedMs ??= timeMs;
      }, "accepted");
    case "revoked":
      if (!facilitator(e.by)) return { notice: { type: "ignored", what: "revocation" } };
      return mark(e.kind.value, (t) => void (t.revoked = true), "revoked");
    case "objected":
      return mark(e.kind.value, (t) => void (t.objected = true), "objected");
    case "declined":
      // The relay attests that the invitee said no (DeclineInvitation): a short line, no reason asked.
      return mark(e.kind.value, (t) => void (t.declined = true), "declined");
    case "joinRequest":
      if (!rules || rules.joinRule !== JoinRule.OPEN_TO_PEERS) return {};
      return { notice: { type: "joinRequest", who: e.kind.value } };
    case "seance":
      return { seance: e.kind.value };
    case "deletedSeq":
      if (!facilitator(e.by)) return { notice: { type: "ignored", what: "deletion" } };
      return { notice: { type: "deleted" }, deletedSeq: Number(e.kind.value) };
    default:
      return {};
  }
}
