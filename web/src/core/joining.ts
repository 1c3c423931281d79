// Joining a conversation from a Welcome: a direct conversation holds the two accounts the relay
// names and nobody else; a groupe de parole is joined only if whoever added this device was allowed
// to (as the C++ SDK's check_welcome), else it stays unread here and the user is told why. Part of
// the Messenger (messenger.ts); single-threaded.
import type { Context } from "./context";
import * as groups from "./groups";
import type { Invitations } from "./invitations";
import * as mls from "./mls";
import { groupKey, type ConvMeta } from "./model";
import { roleOf } from "./policy";
import { ConversationKind, JoinRule, Role as GroupRole, type ConversationInfo, type Delivery } from "./proto";
import type { Roster } from "./roster";
import { del, put, type Op } from "./store";
import type { Wire } from "./wire";

/** Why this device did not join a group (said to the user), and who added it. */
type WelcomeRefusal = { reason: groups.JoinRefusal; who?: string };

/** The relay's conversation for a delivery (only getConversation is asked; tests answer it themselves). */
type Asker = Pick<Wire, "call">;

export class Joining {
  constructor(
    private readonly ctx: Context,
    private readonly invitations: Invitations,
    private readonly roster: Roster,
  ) {}

  /** Handles a WELCOME delivery: the conversation, ready if this device joined its group. */
  async join(wire: Asker, id: string, d: Delivery, ops: Op[]): Promise<ConvMeta> {
    const info = await wire.call({ case: "getConversation", value: { conversationId: d.conversationId } }, "conversation");
    const meta = this.metaFor(id, info, d);
    try {
      const { state, used, adder } = await mls.joinFromWelcome(d.payload, (ref) => this.ctx.store.get("keypackages", ref));
      const handles = new Set(mls.memberHandles(state));
      if (!handles.has(this.ctx.account!.handle)) throw new Error("this account is not in the group");
      if (info.kind === ConversationKind.GROUP || mls.policyBytes(state)) await this.enterGroup(meta, state, adder, d, ops);
      else meta.peer = this.directPeer(info, handles);
      this.ctx.groups.set(id, state);
      meta.ready = true;
      // Added back after leaving or being removed: the new group state is followed again.
      delete meta.left;
      delete meta.leaving;
      // Joining a group: the devices seen now are where later changes start from. A new direct
      // conversation with someone already known starts from the devices of the one before, so that a
      // device more (say, the server's) is announced there too.
      meta.devices = meta.group ? undefined : this.ctx.activeConv(meta.peer)?.devices;
      this.roster.track(meta, state, Number(d.seq), Number(d.serverTimeMs), ops);
      ops.push(put("groups", id, mls.encodeState(state)));
      if (!used.lastResort) ops.push(del("keypackages", used.ref));
    } catch {
      meta.ready = false;
    }
    this.ctx.convs.set(id, meta);
    return meta;
  }

  /** The conversation's record (new, or the one kept), its watermark at the Welcome. */
  private metaFor(id: string, info: ConversationInfo, d: Delivery): ConvMeta {
    const me = this.ctx.account!.handle;
    const meta: ConvMeta = this.ctx.convs.get(id) ?? {
      id,
      peer: info.kind === ConversationKind.GROUP ? groupKey(id) : (info.members.map((m) => m.handle).find((h) => h !== me) ?? ""),
      processed: Number(d.seq),
      above: [],
      ready: false,
      unread: 0,
      lastTime: Number(d.serverTimeMs),
      createdMs: Date.now(),
    };
    meta.processed = Math.max(meta.processed, Number(d.seq));
    meta.above = meta.above.filter(([, b]) => b > meta.processed);
    return meta;
  }

  /**
   * A direct conversation holds the two accounts the relay names, nobody else. Who is in it is
   * what the group's credentials say: the peer is named from them, not from the relay.
   */
  private directPeer(info: ConversationInfo, handles: Set<string>): string {
    const expected = new Set(info.members.map((m) => m.handle));
    const peer = [...handles].find((h) => h !== this.ctx.account!.handle);
    if ([...handles].some((x) => !expected.has(x)) || !peer) throw new Error("the group's members are not the conversation's");
    return peer;
  }

  /** Joins a groupe de parole if the Welcome is allowed; else notes why and throws. */
  private async enterGroup(meta: ConvMeta, state: mls.GroupStateHandle, adder: number, d: Delivery, ops: Op[]): Promise<void> {
    const seq = Number(d.seq);
    const time = Number(d.serverTimeMs);
    const refusal = await this.checkWelcome(meta.id, state, adder);
    meta.group = true;
    meta.peer = groupKey(meta.id);
    if (refusal) {
      // Not joined: the group stays unread on this device, and the user is told why.
      this.ctx.note(meta, seq, time, { type: "joinRefused", ...refusal }, ops);
      throw new Error("welcome refused");
    }
    // Who is in it is what its MLS state says (the relay's list may already be newer than the
    // Welcome); every later change is checked against its rules.
    meta.invitations ??= {};
    delete meta.refused;
    delete meta.broken;
    delete meta.left;
    this.roster.describe(meta, state);
    this.ctx.note(meta, seq, time, { type: "youJoined" }, ops);
  }

  /**
   * Whoever added this device to a group must have been allowed to (as the C++ SDK checks): a
   * facilitator, or, in a group open to peers, any member adding a peer; a professional joins only
   * a group whose invitation they accepted on this device; every leaf names an account. (The commit
   * went to the members, who check it; a relay could otherwise seat this device in a copy of the group.)
   */
  private async checkWelcome(id: string, state: mls.GroupStateHandle, adder: number): Promise<WelcomeRefusal | undefined> {
    const rules = groups.rulesOf(state);
    if (!rules) return undefined;  // No rules to check against: every later commit must set them.
    const all = mls.leaves(state);
    if (all.some((l) => !l.basic)) return { reason: "credentialUnsupported" };
    const own = all.find((l) => l.leaf === mls.ownLeaf(state));
    if (!own) return { reason: "notInGroup" };
    const professional = own.professional || this.ctx.professional;
    if (professional && !(await this.invitations.acceptedHere(id))) return { reason: "notAccepted" };
    const by = all.find((l) => l.leaf === adder)?.handle;
    if (by !== undefined && roleOf(rules, by) === GroupRole.FACILITATOR) return undefined;
    if (by !== undefined && rules.joinRule === JoinRule.OPEN_TO_PEERS && !professional) return undefined;
    return { reason: "adderNotAllowed", who: by };
  }
}
