// Deliveries, caught up and live: handled one at a time in log order and de-duplicated by
// (conversation, seq) against the watermark, then acknowledged. Application messages are decrypted
// (the sender named from the MLS credential), proposals and commits checked against the group's
// rules before their state is adopted, the relay's group events read, Welcomes joined (joining.ts).
// Part of the Messenger (messenger.ts); single-threaded, every batch inside ctx.exclusive.
import { fromHex, fromUtf8, toHex } from "./bytes";
import type { Context } from "./context";
import * as groups from "./groups";
import type { Joining } from "./joining";
import * as mls from "./mls";
import type { Leaf } from "./mls-leaves";
import { messageKey, type ChatMessage, type ConvMeta, type MessageStatus } from "./model";
import { DeliveryKind, type Delivery } from "./proto";
import type { Roster } from "./roster";
import { del, put, type Op } from "./store";
import { handled, markHandled } from "./watermark";
import type { Wire } from "./wire";

/** Refused proposals remembered per epoch (a member could send any number). */
const MAX_REFUSED_PROPOSALS = 256;

/** What a batch needs of the connection it came on (tests hand batches over with a stand-in). */
export type BatchWire = Pick<Wire, "call" | "fire">;

export class Inbox {
  /**
   * Whether this client does the group duties the C++ SDK does on reading (duties.ts): commit
   * members' requests to leave, add accepted invitees and peers who asked to join. On in the page;
   * node tests turn it on where they want it (their node facilitators act step by step).
   */
  duties = typeof document !== "undefined";
  private dutyTimer?: ReturnType<typeof setTimeout>;

  constructor(
    private readonly ctx: Context,
    private readonly joining: Joining,
    private readonly roster: Roster,
    /** Deletes copies past a group's retention. */
    private readonly prune: () => Promise<void>,
  ) {}

  /** Handles a batch of deliveries, then acknowledges what was handled. */
  async handleBatch(wire: BatchWire, deliveries: Delivery[]): Promise<void> {
    if (!this.ctx.account) return;
    const touched = new Set<string>();
    for (const d of deliveries) {
      try {
        await this.handleDelivery(wire, d);
      } catch {
        // Not handled: it stays unacknowledged and comes back with the next catch-up.
        continue;
      }
      touched.add(toHex(d.conversationId));
    }
    for (const id of touched) {
      const meta = this.ctx.convs.get(id);
      if (meta && meta.processed > 0) {
        wire.fire({ case: "ack", value: { conversationId: fromHex(id), seq: BigInt(meta.processed) } });
      }
    }
    if (touched.size) this.ctx.changed();
    if (this.roster.unchecked) void this.roster.checkNewDevices(wire as Wire).catch(() => {});
    if (this.duties && touched.size) this.scheduleDuties(0);
    // New times from the relay may put older messages past a group's retention.
    if ([...touched].some((id) => this.ctx.cutoff(this.ctx.convs.get(id)) !== undefined)) void this.prune();
  }

  /**
   * Runs the group duties after the current batch (they commit, one at a time like everything),
   * and again when an objection delay ends.
   */
  scheduleDuties(inMs: number): void {
    clearTimeout(this.dutyTimer);
    this.dutyTimer = setTimeout(() => {
      void import("./duties")
        .then((d) => d.runDuties(this.ctx, this.roster))
        .then((next) => {
          if (next !== undefined) this.scheduleDuties(Math.min(Math.max(next - this.ctx.serverNow(), 1000), 3_600_000));
        })
        .catch(() => {});  // Tried again after the next batch.
    }, inMs);
  }

  private async handleDelivery(wire: BatchWire, d: Delivery): Promise<void> {
    const id = toHex(d.conversationId);
    const seq = Number(d.seq);
    const erased = d.kind === DeliveryKind.ERASED;
    // An ERASED delivery stands for every entry from erased_from to seq.
    const from = erased && d.erasedFrom > 0n ? Math.min(Number(d.erasedFrom), seq) : seq;
    let meta = this.ctx.convs.get(id);
    if (handled(meta, from, seq)) return;  // Delivered again after a reconnect.
    this.ctx.sawServerTime(Number(d.serverTimeMs));
    const ops: Op[] = [];
    if (erased) {
      if (!meta) return;
      markHandled(meta, from, seq);
    } else if (d.kind === DeliveryKind.WELCOME) {
      meta = await this.joining.join(wire, id, d, ops);
    } else if (!meta || !meta.ready || meta.left) {
      // A conversation this device cannot read (joined without a usable Welcome, or left): nothing to do.
      if (!meta) return;
      markHandled(meta, seq);
    } else if (d.kind === DeliveryKind.EVENT) {
      // Written by the relay, not an MLS message: never given to ts-mls.
      await this.applyEvent(meta, d, ops);
      markHandled(meta, seq);
    } else if (d.senderDevice === this.ctx.account!.deviceId) {
      markHandled(meta, seq);  // Our own entry, already applied when it was sent.
    } else {
      await this.apply(meta, d, ops);
      markHandled(meta, seq);
    }
    ops.push(put("convs", meta.id, meta));
    await this.ctx.store.write(ops);
  }

  private async applyEvent(meta: ConvMeta, d: Delivery, ops: Op[]): Promise<void> {
    if (!meta.group) return;  // Only groups have events.
    const state = await this.ctx.group(meta.id);
    meta.invitations ??= {};
    const out = await groups.readEvent(d.payload, state, d.conversationId, meta.invitations, Number(d.serverTimeMs));
    const asking = out.notice?.type === "joinRequest" ? out.notice.who : undefined;
    if (asking && !(meta.roster ?? []).some((r) => r.handle === asking)) meta.joinRequests = [...new Set([...(meta.joinRequests ?? []), asking])];
    if (out.deletedSeq !== undefined) {
      // Deleted for everyone by a facilitator: gone from this device too.
      const target = out.deletedSeq;
      for (const m of await this.ctx.store.list<ChatMessage>("messages", meta.peer + "\u0000")) {
        if (m.conv === meta.id && m.seq === target && !m.event) ops.push(del("messages", m.key));
      }
    }
    if (out.seance && !(await (await import("./seances")).applyDelivered(meta, out.seance, state, Number(d.seq), Number(d.serverTimeMs)))) {
      // Refused by this device's own check (forged, replayed, out of order): the state stays.
      out.notice = { type: "ignored", what: "event" };
    }
    if (out.notice) this.ctx.note(meta, Number(d.seq), Number(d.serverTimeMs), out.notice, ops);
  }

  /** An MLS message of another device: an application message, a proposal or a commit. */
  private async apply(meta: ConvMeta, d: Delivery, ops: Op[]): Promise<void> {
    const state = await this.ctx.group(meta.id);
    if (d.kind === DeliveryKind.APPLICATION) await this.applyApplication(meta, d, state, ops);
    else if (d.kind === DeliveryKind.COMMIT || d.kind === DeliveryKind.PROPOSAL) await this.applyHandshake(meta, d, state, ops);
  }

  /**
   * Decrypts an application message: only an application message comes out (a proposal or a commit
   * sent as one is refused unread), and only then is the state (its secret tree, one key used) kept.
   * Undefined: unreadable.
   */
  private async decrypt(meta: ConvMeta, d: Delivery, state: mls.GroupStateHandle, ops: Op[]): Promise<{ plaintext: Uint8Array; sender: Leaf; state: mls.GroupStateHandle } | undefined> {
    try {
      const out = await mls.processIncoming(state, d.payload);
      if (!out.application || !out.sender) throw new Error("not an application message");
      this.ctx.groups.set(meta.id, out.newState);
      ops.push(put("groups", meta.id, mls.encodeState(out.newState)));
      return { plaintext: out.application, sender: out.sender, state: out.newState };
    } catch {
      return undefined;
    }
  }

  private async applyApplication(meta: ConvMeta, d: Delivery, state: mls.GroupStateHandle, ops: Op[]): Promise<void> {
    const out = await this.decrypt(meta, d, state, ops);
    // Typed content (profile.ts), not a message: kept in the conversation's record if it is for it.
    if (out && out.plaintext[0] === 0) return this.applyContent(meta, d, out.state, out.plaintext);
    const status: MessageStatus = out ? "received" : "unreadable";
    // The sender is who the MLS credential of the sending leaf names; the relay's sender_device
    // is not trusted for it. An unreadable message is shown as the peer's (nothing is known).
    const sender = out ? out.sender.handle : meta.group ? "" : meta.peer;
    // From another device of this account: ours, already read.
    const mine = !!out && sender === this.ctx.account!.handle;
    const msg: ChatMessage = {
      key: messageKey(meta.peer, Number(d.serverTimeMs)),
      peer: meta.peer,
      conv: meta.id,
      seq: Number(d.seq),
      mine,
      sender,
      text: out ? fromUtf8(out.plaintext) : "",
      time: Number(d.serverTimeMs),
      status: mine ? "sent" : status,
      professional: !!out?.sender.professional,
    };
    ops.push(put("messages", msg.key, msg));
    meta.lastTime = msg.time;
    if (!mine) {
      meta.unread += 1;
      this.ctx.announce(msg);
    }
  }

  /** A group's signed profile: taken only from a facilitator, for this group, newer than the one held. */
  private async applyContent(meta: ConvMeta, d: Delivery, state: mls.GroupStateHandle, plaintext: Uint8Array): Promise<void> {
    if (!meta.group) return;
    const profiles = await import("./profile");
    const signed = profiles.openEnvelope(plaintext);
    if (!signed) return;  // An unknown kind: a later version's content, ignored.
    const checked = await profiles.checkProfile(signed, state, d.conversationId, meta.profile);
    if ("profile" in checked) meta.profile = profiles.stored(signed, checked.profile);
  }

  /** A PROPOSAL or COMMIT delivery: read, judged by the group's rules, and adopted only if allowed. */
  private async applyHandshake(meta: ConvMeta, d: Delivery, state: mls.GroupStateHandle, ops: Op[]): Promise<void> {
    const seq = Number(d.seq);
    const time = Number(d.serverTimeMs);
    let hs: mls.Handshake;
    try {
      // A PROPOSAL delivery holds a proposal, a COMMIT delivery a commit, nothing else.
      const expect = d.kind === DeliveryKind.COMMIT ? "commit" : "proposal";
      hs = await mls.processHandshake(state, d.payload, expect, groups.judgeProposal, meta.refusedProposals);
    } catch {
      if (d.kind === DeliveryKind.COMMIT) {
        // The group moved on in a way this device cannot follow: say so, and do not stall on it.
        meta.broken = true;
        this.ctx.note(meta, seq, time, { type: "broken" }, ops);
      } else if (meta.group) {
        // A proposal this device cannot read is dropped: the conversation goes on without it.
        this.ctx.note(meta, seq, time, { type: "ignored", what: "proposal" }, ops);
      }
      return;
    }
    if (hs.refused) return this.refuseHandshake(meta, hs.refused, seq, time, ops);
    if (hs.commit && !(await this.acceptCommit(meta, d, state, hs, ops))) return;
    this.ctx.groups.set(meta.id, hs.newState);
    ops.push(put("groups", meta.id, mls.encodeState(hs.newState)));
  }

  /**
   * The group's rules decide who may change it: a commit that breaks them is refused here even if
   * the relay accepted it. The group stays as it was (on its epoch), and the member is told.
   * Returns whether the new state is to be adopted.
   */
  private async acceptCommit(meta: ConvMeta, d: Delivery, state: mls.GroupStateHandle, hs: mls.Handshake, ops: Op[]): Promise<boolean> {
    const seq = Number(d.seq);
    const time = Number(d.serverTimeMs);
    const verdict = await groups.verifyCommit(
      { conversationId: d.conversationId, group: !!meta.group, invitations: (meta.invitations ??= {}), me: this.ctx.account!.handle },
      state,
      hs,
      time || this.ctx.serverNow(),
    );
    if (verdict.refusal) {
      meta.refused = true;
      this.ctx.note(meta, seq, time, { type: "refused", reason: verdict.refusal, who: verdict.who }, ops);
      return false;
    }
    for (const nonce of verdict.usedNonces) (meta.invitations[nonce] ??= { invitee: "", inviter: "", professional: false, accompanying: "" }).used = true;
    if (hs.commit!.removesMe) {
      meta.left = true;
      if (meta.group) this.ctx.note(meta, seq, time, { type: "youLeft" }, ops);
      return false;
    }
    if (meta.group) {
      this.roster.describe(meta, hs.newState);
      for (const n of verdict.notices) this.ctx.note(meta, seq, time, n, ops);
    }
    delete meta.refusedProposals;  // Proposals do not outlive their epoch.
    this.roster.track(meta, hs.newState, seq, time, ops);
    return true;
  }

  /** A proposal or a commit the rules refused before anything was kept: the member is told. */
  private refuseHandshake(meta: ConvMeta, r: NonNullable<mls.Handshake["refused"]>, seq: number, time: number, ops: Op[]): void {
    const notice = r.who === undefined ? { reason: r.refusal } : { reason: r.refusal, who: r.who };
    if (r.ref !== undefined) {
      // Never kept, so never committed by this device; a commit that names it is refused too.
      const refused = (meta.refusedProposals ??= {});
      if (Object.keys(refused).length < MAX_REFUSED_PROPOSALS) refused[r.ref] = { refusal: r.refusal, who: r.from };
      this.ctx.note(meta, seq, time, { type: "proposalRefused", ...notice }, ops);
    } else {
      meta.refused = true;
      this.ctx.note(meta, seq, time, { type: "refused", ...notice }, ops);
    }
  }
}
