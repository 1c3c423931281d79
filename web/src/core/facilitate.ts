// What a facilitator does in a groupe de parole from this client: create a named group with its
// rules, add peers by pseudonym (only the devices their signed chain lists), invite a peer or a
// professional, revoke, give or take back the facilitator role, remove, ban and unban, mute and
// unmute, delete a message for everyone, change the rules and the group's name, admit a peer who
// asked to join, commit members' requests to leave. Every commit goes through this client's own
// rules check (groups.allowedPending for the pending proposals it takes, groups.verifyCommit for
// the result) before it is sent: a commit the rules refuse is never sent (PolicyRefused).
// Loaded on demand (never in a visitor's first load); works on the Messenger's Context; one at a
// time through ctx.exclusive.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { fromHex, randomHex, toHex } from "./bytes";
import type { Context } from "./context";
import * as devices from "./devices";
import * as groups from "./groups";
import * as mls from "./mls";
import { groupKey, PeerUnreachable, type ConvMeta } from "./model";
import { invitationTranscript, type Refusal } from "./policy";
import * as profiles from "./profile";
import {
  AccountType,
  CommitDataSchema,
  ConversationKind,
  DeliveryKind,
  ErrorCode,
  GroupPolicySchema,
  SeanceRulesSchema,
  InvitationSchema,
  InviteeType,
  JoinRule,
  Role,
  RoleGrantSchema,
  SignedInvitationSchema,
  type GroupPolicy,
  type SignedInvitation,
} from "./proto";
import type { Roster } from "./roster";
import { sign } from "./signer";
import { put, type Op } from "./store";
import { markHandled } from "./watermark";
import { RelayError } from "./wire";

/** This client's own rules check refused the change: nothing was sent. */
export class PolicyRefused extends Error {
  constructor(
    readonly refusal: Refusal,
    readonly who?: string,
  ) {
    super(`the group's rules refuse this change (${refusal})`);
    this.name = "PolicyRefused";
  }
}

/** The rules a facilitator chooses (undefined: unchanged). */
export interface RulesChoice {
  charter?: string;
  retentionDays?: number;
  open?: boolean;        // Open to peers (they may ask to join) or by invitation only.
  relatives?: boolean;   // Relatives and caregivers admitted.
  objectionHours?: number;
  /** Séance rules; null: the group has none (it never meets in séances). */
  seances?: { writeOnlyInSeance: boolean; turnTaking: boolean; eraseAfter: boolean; eraseDelayMinutes: number } | null;
}

export interface NewGroup extends RulesChoice {
  name: string;
  description?: string;
}

type Devices = { add?: bigint[]; remove?: bigint[] };
type Build = (state: mls.GroupStateHandle, rules: GroupPolicy) => { opts: mls.CommitOptions; devices?: Devices } | Promise<{ opts: mls.CommitOptions; devices?: Devices }>;

const ATTEMPTS = 4;
const EPOCH_WAIT_MS = 10_000;

/** Applies `choice` to a group's rules. */
export function applyChoice(p: GroupPolicy, choice: RulesChoice): void {
  if (choice.charter !== undefined) p.charter = choice.charter;
  if (choice.retentionDays !== undefined) p.retentionDays = Math.max(0, Math.floor(choice.retentionDays));
  if (choice.open !== undefined) p.joinRule = choice.open ? JoinRule.OPEN_TO_PEERS : JoinRule.INVITE_ONLY;
  if (choice.relatives !== undefined) p.relativesAdmitted = choice.relatives;
  if (choice.objectionHours !== undefined) p.objectionHours = Math.max(0, Math.floor(choice.objectionHours));
  if (choice.seances !== undefined) p.seances = choice.seances ? create(SeanceRulesSchema, choice.seances) : undefined;
}

export class Facilitator {
  constructor(
    private readonly ctx: Context,
    private readonly roster: Roster,
  ) {}

  /** A conversation this device follows (a group, unless `any`: tests add devices to direct ones too). */
  private meta(id: string, any = false): ConvMeta {
    const meta = this.ctx.convs.get(id);
    if (!meta?.ready || meta.left || meta.broken || (!any && !meta.group)) throw new Error("not in this group");
    return meta;
  }

  /** The group's rules as this device holds them (muted and banned people included). */
  async policy(id: string): Promise<GroupPolicy | undefined> {
    return groups.rulesOf(await this.ctx.group(id));
  }

  // ---- the commit path ------------------------------------------------------------------------------

  /**
   * Builds a commit on this device's state, checks it with this client's rules, sends it, and adopts
   * it once the relay took it. On STALE_EPOCH (another change came first), waits for this device to
   * catch up and builds it again. Returns the commit's seq.
   */
  private async change(id: string, build: Build): Promise<number> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      try {
        return await this.ctx.exclusive(() => this.commitOnce(id, build));
      } catch (e) {
        if (!(e instanceof RelayError && e.code === ErrorCode.STALE_EPOCH)) throw e;
        await this.waitForEpoch(id, e.currentEpoch);
      }
    }
    throw new RelayError(ErrorCode.STALE_EPOCH, "the group kept changing");
  }

  private async waitForEpoch(id: string, epoch: bigint): Promise<void> {
    const end = Date.now() + EPOCH_WAIT_MS;
    while (Date.now() < end && mls.epochOf(await this.ctx.group(id)) < epoch) await new Promise((r) => setTimeout(r, 100));
  }

  private async commitOnce(id: string, build: Build): Promise<number> {
    const meta = this.meta(id, true);
    const state = await this.ctx.group(id);
    const { opts, devices } = await build(state, groups.rulesOf(state) ?? create(GroupPolicySchema));
    const out = await mls.commit(state, { keepPending: groups.allowedPending(state), ...opts });
    const verdict = await this.check(meta, state, out, opts);
    const res = await this.ctx.requireWire().call(
      {
        case: "commit",
        value: {
          conversationId: fromHex(id),
          epoch: mls.epochOf(state),
          commit: out.commit,
          addDevices: devices?.add ?? [],
          removeDevices: devices?.remove ?? [],
          welcome: out.welcome,
          genesis: out.genesis,
        },
      },
      "commit",
    );
    await this.adopt(meta, out.newState, verdict, Number(res.seq));
    return Number(res.seq);
  }

  /** The client's own rules check of its commit, as every member will run it: throws PolicyRefused. */
  private async check(meta: ConvMeta, state: mls.GroupStateHandle, out: mls.CommitOut, opts: mls.CommitOptions): Promise<groups.CommitVerdict> {
    const hs: mls.Handshake = {
      newState: out.newState,
      commit: { committer: state.privatePath.leafIndex, proposals: out.proposals, authenticatedData: opts.authenticatedData ?? new Uint8Array(), removesMe: false },
    };
    const ctx = { conversationId: fromHex(meta.id), group: !!meta.group, invitations: (meta.invitations ??= {}), me: this.ctx.account!.handle };
    const verdict = await groups.verifyCommit(ctx, state, hs, this.ctx.serverNow());
    if (verdict.refusal) throw new PolicyRefused(verdict.refusal, verdict.who);
    return verdict;
  }

  private async adopt(meta: ConvMeta, state: mls.GroupStateHandle, verdict: groups.CommitVerdict, seq: number): Promise<void> {
    const time = this.ctx.serverNow();
    const ops: Op[] = [];
    this.ctx.groups.set(meta.id, state);
    markHandled(meta, seq);
    for (const nonce of verdict.usedNonces) (meta.invitations![nonce] ??= { invitee: "", inviter: "", professional: false, accompanying: "" }).used = true;
    this.roster.describe(meta, state);
    for (const n of verdict.notices) this.ctx.note(meta, seq, time, n, ops);
    delete meta.refusedProposals;
    this.roster.track(meta, state, seq, time, ops);
    ops.push(put("groups", meta.id, mls.encodeState(state)), put("convs", meta.id, meta));
    await this.ctx.store.write(ops);
    this.ctx.changed();
  }

  /** One key package per device of `handle`, only devices its signed chain lists (as a direct conversation's start). */
  async keyPackagesOf(handle: string): Promise<{ handle: string; kps: ReturnType<typeof mls.decodeKeyPackage>[]; devices: bigint[] }> {
    const fetched = await this.ctx.requireWire().call({ case: "fetchKeyPackages", value: { handle } }, "fetchKeyPackages");
    const name = fetched.account!.handle;
    const kps = [];
    const ids = [];
    for (const k of fetched.keyPackages) {
      if (k.data.length === 0) continue;
      try {
        const kp = mls.decodeKeyPackage(k.data);
        if (mls.keyPackageHandle(kp) !== name) continue;
        kps.push(kp);
        ids.push(k.deviceId);
      } catch {
        // Unreadable: not added.
      }
    }
    if (kps.length === 0) throw new PeerUnreachable("no key package");
    await devices.checkDevicesToAdd(this.ctx.store, fetched.account!, kps.map((kp) => kp.leafNode.signaturePublicKey));
    return { handle: name, kps, devices: ids };
  }

  // ---- creating a group ---------------------------------------------------------------------------

  /** Creates a named groupe de parole: its first commit sets the rules (this account facilitates) and adds `members`. */
  async createGroup(g: NewGroup, members: string[] = []): Promise<string> {
    // Checked before the relay hears of the group: a name that does not fit creates nothing.
    profiles.checkLengths(g.name, g.description ?? "");
    const policy = create(GroupPolicySchema);
    applyChoice(policy, g);
    const id = await this.createWithPolicy(policy, members);
    await this.setProfile(id, g.name, g.description ?? "");
    return id;
  }

  /** Creates a group whose first commit sets `policy` (this account first among its facilitators) and adds `members`. */
  async createWithPolicy(policy: GroupPolicy, members: string[] = []): Promise<string> {
    const wire = this.ctx.requireWire();
    policy.roles.unshift(create(RoleGrantSchema, { handle: this.ctx.account!.handle, role: Role.FACILITATOR }));
    const fetched: Awaited<ReturnType<Facilitator["keyPackagesOf"]>>[] = [];
    for (const handle of members) fetched.push(await this.keyPackagesOf(handle));
    const info = await wire.call({ case: "createConversation", value: { kind: ConversationKind.GROUP } }, "conversation");
    const id = toHex(info.conversationId);
    await this.ctx.exclusive(async () => {
      const now = Date.now();
      const meta: ConvMeta = { id, peer: groupKey(id), processed: 0, above: [], ready: true, unread: 0, lastTime: now, createdMs: now, group: true, invitations: {} };
      this.ctx.groups.set(id, await mls.newGroup(info.conversationId, this.ctx.identity!));
      this.ctx.convs.set(id, meta);
    });
    await this.change(id, () => ({
      opts: { add: fetched.flatMap((f) => f.kps), policy: toBinary(GroupPolicySchema, policy) },
      devices: { add: fetched.flatMap((f) => f.devices) },
    }));
    return id;
  }

  // ---- the group's name and description -------------------------------------------------------------

  /** Gives the group a new name and description (a new signed profile, sent to the members). */
  async setProfile(id: string, name: string, description: string): Promise<void> {
    const meta = this.meta(id);
    const version = (meta.profile?.version ?? 0) + 1;
    const fields = { conversationId: fromHex(id), name, description, version };
    const signed = await profiles.signProfile(this.ctx.account!.mlsKey, this.ctx.account!.handle, fields, meta.profile);
    meta.profile = profiles.stored(signed);
    await this.ctx.store.write([put("convs", id, meta)]);
    this.ctx.changed();
    await this.sendProfile(id);
  }

  /** Sends the group's last signed profile (after an Add: the newcomer learns the name). */
  async sendProfile(id: string): Promise<void> {
    const meta = this.meta(id);
    if (!meta.profile) return;
    const payload = profiles.envelope(profiles.signedOf(meta.profile));
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      try {
        return await this.ctx.exclusive(async () => {
          const state = await this.ctx.group(id);
          const out = await mls.encrypt(state, payload);
          const value = { conversationId: fromHex(id), epoch: mls.epochOf(state), payload: out.message, kind: DeliveryKind.APPLICATION };
          const res = await this.ctx.requireWire().call({ case: "send", value }, "send");
          this.ctx.groups.set(id, out.newState);
          markHandled(meta, Number(res.seq));
          await this.ctx.store.write([put("groups", id, mls.encodeState(out.newState)), put("convs", id, meta)]);
        });
      } catch (e) {
        if (!(e instanceof RelayError && e.code === ErrorCode.STALE_EPOCH)) throw e;
        await this.waitForEpoch(id, e.currentEpoch);
      }
    }
  }

  // ---- rules, roles, bans, mutes ------------------------------------------------------------------

  /** Changes the rules (a commit with the new group context extension). */
  editRules(id: string, edit: (p: GroupPolicy) => void): Promise<number> {
    return this.change(id, (_state, rules) => {
      edit(rules);
      return { opts: { policy: toBinary(GroupPolicySchema, rules) } };
    });
  }

  setRules(id: string, choice: RulesChoice): Promise<number> {
    return this.editRules(id, (p) => applyChoice(p, choice));
  }

  /** Gives `handle` the facilitator role, or takes it back (they become a plain member). */
  setFacilitator(id: string, handle: string, facilitator: boolean): Promise<number> {
    return this.editRules(id, (p) => {
      p.roles = p.roles.filter((r) => r.handle !== handle || r.role !== Role.FACILITATOR);
      if (facilitator) p.roles.push(create(RoleGrantSchema, { handle, role: Role.FACILITATOR }));
    });
  }

  mute(id: string, handle: string, muted: boolean): Promise<number> {
    return this.editRules(id, (p) => {
      p.muted = p.muted.filter((h) => h !== handle);
      if (muted) p.muted.push(handle);
    });
  }

  /**
   * Bans `handle`: they cannot come back; in the group, they are removed too. Two commits, the ban
   * first: ts-mls 1.6 builds a commit carrying both a GroupContextExtensions proposal and an
   * UpdatePath that other ts-mls members cannot process (they mark the group broken).
   */
  async ban(id: string, handle: string): Promise<number> {
    let seq = await this.editRules(id, (p) => {
      if (!p.banned.includes(handle)) p.banned.push(handle);
      p.roles = p.roles.filter((r) => r.handle !== handle);
      p.muted = p.muted.filter((h) => h !== handle);
    });
    if (mls.leaves(await this.ctx.group(id)).some((l) => l.handle === handle)) seq = await this.remove(id, handle);
    return seq;
  }

  unban(id: string, handle: string): Promise<number> {
    return this.editRules(id, (p) => {
      p.banned = p.banned.filter((h) => h !== handle);
    });
  }

  /** Removes `handle` from the group (every device), then their role and mute (two commits: see ban). */
  async remove(id: string, handle: string): Promise<number> {
    let seq = await this.change(id, async (state) => {
      const gone = await this.leavesOf(id, state, handle);
      if (gone.leaves.length === 0) throw new Error(`${handle} is not in the group`);
      // Their own request to leave, if pending, is not taken as well (one Remove per leaf).
      const allowed = groups.allowedPending(state);
      const keepPending = (p: mls.ProposalWithSender) => allowed(p) && !(p.proposal.proposalType === "remove" && gone.leaves.includes(p.proposal.remove.removed));
      return { opts: { removeLeaves: gone.leaves, keepPending }, devices: { remove: gone.devices } };
    });
    const rules = await this.policy(id);
    if (rules && (rules.muted.includes(handle) || rules.roles.some((r) => r.handle === handle))) {
      seq = await this.editRules(id, (p) => {
        p.roles = p.roles.filter((r) => r.handle !== handle);
        p.muted = p.muted.filter((h) => h !== handle);
      });
    }
    return seq;
  }

  /** The leaves of `handle` in this device's tree, and the devices the relay seats there. */
  private async leavesOf(id: string, state: mls.GroupStateHandle, handle: string): Promise<{ leaves: number[]; devices: bigint[] }> {
    const leaves = mls.leaves(state).filter((l) => l.handle === handle).map((l) => l.leaf);
    if (leaves.length === 0) return { leaves, devices: [] };
    const info = await this.ctx.requireWire().call({ case: "getConversation", value: { conversationId: fromHex(id) } }, "conversation");
    return { leaves, devices: info.members.filter((m) => leaves.includes(m.leaf)).map((m) => m.deviceId) };
  }

  // ---- adding, inviting ---------------------------------------------------------------------------

  /**
   * Adds `handle` (every device its chain lists); with an invitation, the commit carries it and a
   * professional gets the INVITED_PROFESSIONAL role (with whom they accompany). Then hands the
   * newcomer the group's profile.
   */
  async add(id: string, handle: string, signed?: SignedInvitation): Promise<number> {
    const got = await this.keyPackagesOf(handle);
    const seq = await this.change(id, (_state, rules) => {
      const opts: mls.CommitOptions = { add: got.kps };
      if (signed) {
        opts.authenticatedData = toBinary(CommitDataSchema, create(CommitDataSchema, { invitations: [signed] }));
        const invitation = fromBinary(InvitationSchema, signed.invitation);
        if (invitation.inviteeType === InviteeType.INVITEE_PROFESSIONAL) {
          rules.roles.push(create(RoleGrantSchema, { handle: got.handle, role: Role.INVITED_PROFESSIONAL, accompanying: invitation.accompanying }));
          opts.policy = toBinary(GroupPolicySchema, rules);
        }
      }
      return { opts, devices: { add: got.devices } };
    });
    await this.sendProfile(id).catch(() => {});  // The name follows at the next Add otherwise.
    return seq;
  }

  /** Adds only the devices `only` of `handle` (a new device of someone already in the group). */
  async addDevices(id: string, handle: string, only: bigint[]): Promise<number> {
    const got = await this.keyPackagesOf(handle);
    const picked = got.devices.map((d, i) => ({ d, kp: got.kps[i] })).filter(({ d }) => only.includes(d));
    if (picked.length !== only.length) throw new PeerUnreachable(`not every device of ${handle} has a key package`);
    return this.addPackages(id, picked.map((p) => p.kp), picked.map((p) => p.d));
  }

  /** Adds these key packages (already checked by the caller), seating them on `deviceIds`. */
  addPackages(id: string, kps: ReturnType<typeof mls.decodeKeyPackage>[], deviceIds: bigint[]): Promise<number> {
    return this.change(id, () => ({ opts: { add: kps }, devices: { add: deviceIds } }));
  }

  /** Admits a peer who asked to join (an open group). */
  async admit(id: string, handle: string): Promise<number> {
    const seq = await this.add(id, handle);
    const meta = this.meta(id);
    meta.joinRequests = (meta.joinRequests ?? []).filter((h) => h !== handle);
    await this.ctx.store.write([put("convs", id, meta)]);
    return seq;
  }

  /**
   * Invites `invitee` (a peer, or a professional, optionally accompanying a member): the invitation,
   * signed with this device's leaf key, goes to the relay, which shows it to the group and the
   * invitee. Returns its nonce (hex).
   */
  async invite(id: string, invitee: string, opts: { professional?: boolean; accompanying?: string; expiresInMs?: number } = {}): Promise<string> {
    const meta = this.meta(id);
    const rules = groups.rulesOf(await this.ctx.group(id));
    const account = await this.ctx.requireWire().call({ case: "lookupAccount", value: { handle: invitee } }, "account");
    const name = account.handle;
    // A professional account is invited as one even when the facilitator did not say so: invited
    // as a peer, it could accept but never be added (PROFESSIONAL_INVITED_AS_PEER).
    const professional = !!opts.professional || account.type === AccountType.PROFESSIONAL;
    const invitation = create(InvitationSchema, {
      conversationId: fromHex(id),
      inviter: this.ctx.account!.handle,
      invitee: name,
      inviteeType: professional ? InviteeType.INVITEE_PROFESSIONAL : InviteeType.INVITEE_PEER,
      accompanying: opts.accompanying ?? "",
      expiresAtMs: BigInt(Math.round(this.ctx.serverNow()) + (opts.expiresInMs ?? 7 * 86_400_000)),
      nonce: fromHex(randomHex(16)),
      charter: rules?.charter ?? "",
    });
    const bytes = toBinary(InvitationSchema, invitation);
    const signed = create(SignedInvitationSchema, { invitation: bytes, signature: await sign(this.ctx.account!.mlsKey, invitationTranscript(bytes)) });
    await this.ctx.requireWire().call({ case: "createInvitation", value: { signedInvitation: toBinary(SignedInvitationSchema, signed) } }, "done");
    const nonce = toHex(invitation.nonce);
    (meta.invitations ??= {})[nonce] = {
      invitee: name,
      inviter: invitation.inviter,
      professional,
      accompanying: invitation.accompanying,
      signed: toBinary(SignedInvitationSchema, signed),
      expiresAtMs: Number(invitation.expiresAtMs),
    };
    await this.ctx.store.write([put("convs", id, meta)]);
    this.ctx.changed();
    return nonce;
  }

  /** Withdraws an invitation (nonce, hex). */
  async revoke(id: string, nonce: string): Promise<void> {
    await this.ctx.requireWire().call({ case: "revokeInvitation", value: { conversationId: fromHex(id), nonce: fromHex(nonce) } }, "done");
  }

  /** Adds an invitee who accepted (the invitation, as this device keeps it). */
  addInvited(id: string, nonce: string): Promise<number> {
    const t = this.meta(id).invitations?.[nonce];
    if (!t?.signed) throw new Error("unknown invitation");
    return this.add(id, t.invitee, fromBinary(SignedInvitationSchema, t.signed));
  }

  // ---- deleting, leaving --------------------------------------------------------------------------

  /** Deletes an entry for everyone (the relay keeps no copy; members' clients erase theirs). */
  async deleteEntry(id: string, seq: number): Promise<void> {
    await this.ctx.requireWire().call({ case: "deleteEntry", value: { conversationId: fromHex(id), seq: BigInt(seq) } }, "done");
  }

  /** The leaves whose request to leave (a Remove proposal of their own) waits in this device's state. */
  async leaving(id: string): Promise<number[]> {
    const state = await this.ctx.group(id);
    return Object.values(state.unappliedProposals)
      .filter((p) => p.proposal.proposalType === "remove" && p.proposal.remove.removed === p.senderLeafIndex)
      .map((p) => p.senderLeafIndex!);
  }

  /** Commits the members' requests to leave, naming their devices to the relay (as the C++ SDK does). */
  commitLeaving(id: string): Promise<number> {
    return this.change(id, async (state) => {
      const leaves = Object.values(state.unappliedProposals)
        .filter((p) => p.proposal.proposalType === "remove" && p.proposal.remove.removed === p.senderLeafIndex)
        .map((p) => p.senderLeafIndex!);
      const info = await this.ctx.requireWire().call({ case: "getConversation", value: { conversationId: fromHex(id) } }, "conversation");
      return { opts: {}, devices: { remove: info.members.filter((m) => leaves.includes(m.leaf)).map((m) => m.deviceId) } };
    });
  }

  /** A commit that changes nothing but the epoch, taking no pending proposal. */
  commitNothing(id: string): Promise<number> {
    return this.change(id, () => ({ opts: { keepPending: () => false } }));
  }
}
