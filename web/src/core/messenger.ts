// The client: account, reconnecting connection with catch-up, MLS direct conversations and groupes de
// parole (rules checked before a commit is adopted, group events, retention), de-duplicated deliveries,
// an outbox that survives reloads; shared by the page and node tests. Its parts share one Context:
// connection.ts, account.ts, inbox.ts and joining.ts (deliveries), roster.ts, outbox.ts,
// conversations.ts and people.ts (threads, safety numbers), invitations.ts.
import { AccountSide } from "./account";
import { Connection } from "./connection";
import { Context, type Listener } from "./context";
import { Conversations } from "./conversations";
import type { Approval, PairingSteps } from "./devices";
import { deleteAccount, ledAlone } from "./account-deletion";
import { Inbox } from "./inbox";
import { Invitations, type Declined } from "./invitations";
import { Joining } from "./joining";
import { erasureWaits, seanceView, type SeanceView } from "./seance-view";
import type { AcceptedInvitation, Account, ChatMessage, ConnState, GroupView, MessengerOptions, PendingInvitation, PersonView, Role, SafetyView, Thread } from "./model";
import { Outbox } from "./outbox";
import * as people from "./people";
import type { ContactLinkInfo, DeviceRequestInfo, HelloResult, ServerFrame } from "./proto";
import { Roster } from "./roster";
import { put } from "./store";
import type { Wire } from "./wire";

export * from "./model";
export type { Declined } from "./invitations";
export type { SeanceView } from "./seance-view";
export { LastFacilitator } from "./account-deletion";

const PRUNE_EVERY_MS = 60_000;

export class Messenger {
  private readonly ctx: Context;
  private readonly conn: Connection;
  private readonly own: AccountSide;
  private readonly invites: Invitations;
  private readonly roster: Roster;
  private readonly inbox: Inbox;
  private readonly convs: Conversations;
  private readonly outbox: Outbox;
  private pruneTimer?: ReturnType<typeof setTimeout>;
  private prunedAt = 0;
  private hidden = false;  // The page is hidden (setHidden): periodic work waits at least the idle ping.
  private renewing = false;  // A request to leave is being made again.
  private reportsHeld = false;  // A report came: reports.ts is loaded and may hold some back.

  private constructor(opts: MessengerOptions) {
    const ctx = (this.ctx = new Context(opts.store, opts.now ?? Date.now));
    this.conn = new Connection(ctx, opts.url, opts.clientName ?? "cercle-web/0.1", {
      onPush: (wire, frame) => this.onPush(wire, frame),
      afterOnline: (wire) => this.afterOnline(wire),
      onStart: () => this.prunePeriodically(),
      onStop: () => void (clearTimeout(this.pruneTimer), (this.pruneTimer = undefined)),
    });
    this.own = new AccountSide(ctx, this.conn, opts.keyPackageStock);
    this.invites = new Invitations(ctx);
    this.roster = new Roster(ctx);
    this.convs = new Conversations(ctx, () => this.outbox.flush());
    this.outbox = new Outbox(ctx, (peer) => this.convs.start(peer), (ms) => this.stretched(ms));
    this.inbox = new Inbox(ctx, new Joining(ctx, this.invites, this.roster), this.roster, () => this.prune());
  }

  static async load(opts: MessengerOptions): Promise<Messenger> {
    const m = new Messenger(opts);
    await m.ctx.load();
    await m.invites.restore();
    return m;
  }

  get account(): Account | undefined {
    return this.ctx.account;
  }

  get state(): ConnState {
    return this.ctx.state;
  }

  /** When the next connection attempt starts (ms since epoch), while offline. */
  get retryAt(): number {
    return this.ctx.retryAt;
  }

  get hello(): HelloResult | undefined {
    return this.ctx.hello;
  }

  /** Whether the relay says this account is a professional's (every leaf of it says so too). */
  get professional(): boolean {
    return this.ctx.professional;
  }

  // ---- events -------------------------------------------------------------------------------------

  onState(fn: Listener): () => void {
    this.ctx.listeners.state.add(fn);
    return () => this.ctx.listeners.state.delete(fn);
  }

  /** Threads, messages or links changed. */
  onChange(fn: Listener): () => void {
    this.ctx.listeners.change.add(fn);
    return () => this.ctx.listeners.change.delete(fn);
  }

  /** A message from the peer was received. */
  onIncoming(fn: (m: ChatMessage) => void): () => void {
    this.ctx.listeners.incoming.add(fn);
    return () => this.ctx.listeners.incoming.delete(fn);
  }

  // ---- before an account exists -------------------------------------------------------------------

  /** Opens (or reuses) a connection that has said hello but is not authenticated. */
  connectAnonymous(): Promise<HelloResult> {
    return this.conn.connectAnonymous();
  }

  resolveContactLink(token: string): Promise<ContactLinkInfo> {
    return this.conn.resolveContactLink(token);
  }

  /**
   * Creates the account and this device, then starts the connection loop. With contactToken, the
   * account is a visitor's and the conversation with the link's owner is opened.
   */
  register(handle: string, opts: { code?: string; contactToken?: string; role?: Role } = {}): Promise<void> {
    return this.own.register(handle, opts);
  }

  /**
   * On a browser without an account: asks to become a device of `handle`, shows the code through
   * `steps.onCode`, and once a device of the account approved it, signs in as that new device.
   */
  joinAccount(handle: string, steps: PairingSteps): Promise<void> {
    return this.own.joinAccount(handle, steps);
  }

  /**
   * Restores an account from a backup file on this (empty) device: signs in with the backup's key,
   * registers a new non-extractable device key, keeps the messages, then reopens the conversations.
   */
  async importBackup(text: string, passphrase: string): Promise<void> {
    await this.own.importBackup(text, passphrase);
    this.start();
  }

  // ---- the connection -----------------------------------------------------------------------------

  /**
   * The relay's time now, as far as this device knows (its own clock until the relay stamped
   * something), never more than 5 minutes ahead of this device's clock.
   */
  serverNow(): number {
    return this.ctx.serverNow();
  }

  /** Connects, and reconnects with backoff until stop(). */
  start(): void {
    if (!this.ctx.account) throw new Error("no account");
    this.conn.startLoop(undefined);
  }

  stop(): void {
    this.conn.stop();
  }

  /**
   * The page was hidden or shown again (visibilitychange; node never calls it). While hidden,
   * periodic work (pruning, retrying a send the relay did not take) waits at least as long as the
   * relay's idle ping, so a hidden page wakes no more often than its connection does; the relay
   * pushes deliveries and events, so nothing is polled. Back in view, what waited is done at once,
   * and a connection lost meanwhile is tried again now rather than after its backoff (up to 30 s).
   */
  setHidden(hidden: boolean): void {
    if (hidden === this.hidden) return;
    this.hidden = hidden;
    if (hidden) return;
    if (this.pruneTimer !== undefined) this.prunePeriodically();
    this.outbox.wake();
    if (this.ctx.state === "offline") this.conn.reconnectNow();
  }

  /** A periodic wait of `ms`, stretched while the page is hidden to the relay's ping (half its idle timeout). */
  private stretched(ms: number): number {
    if (!this.hidden) return ms;
    return Math.max(ms, (this.ctx.hello?.limits?.idleTimeoutS || 60) * 500);
  }

  /** Prunes (unless it did less than a period ago), then again after a period. */
  private prunePeriodically(): void {
    clearTimeout(this.pruneTimer);
    if (Date.now() - this.prunedAt >= PRUNE_EVERY_MS - 1000) {
      this.prunedAt = Date.now();
      void this.prune();
    }
    this.pruneTimer = setTimeout(() => this.prunePeriodically(), this.stretched(PRUNE_EVERY_MS));
  }

  /** Drops the connection now (the device went offline); the loop reconnects later. */
  disconnect(): void {
    this.conn.disconnect();
  }

  /** Skips the wait before the next attempt (the device is back online). */
  reconnectNow(): void {
    this.conn.reconnectNow();
  }

  /** Waits until the state is online (or the timeout passes). */
  waitOnline(timeoutMs: number): Promise<boolean> {
    return this.conn.waitOnline(timeoutMs);
  }

  private onPush(wire: Wire, frame: ServerFrame): void {
    if (frame.kind.case === "deliveries") {
      const batch = frame.kind.value.deliveries;
      void this.ctx.exclusive(() => this.inbox.handleBatch(wire, batch)).then(() => this.renewLeaving()).then(() => this.retryReports());
    } else if (frame.kind.case === "event" && frame.kind.value.kind.case === "keyPackagesLow") {
      void this.own.refillKeyPackages(wire).catch(() => {});
    } else if (frame.kind.case === "event" && frame.kind.value.kind.case === "invitationReceived") {
      this.invites.learn(frame.kind.value.kind.value.signedInvitation);
      this.ctx.changed();
    } else if (frame.kind.case === "event" && frame.kind.value.kind.case === "reportReceived") {
      const r = frame.kind.value.kind.value;
      this.reportsHeld = true;  // From now on, reports held back are tried again after each batch.
      void this.reports().then((x) => x.receive(r)).catch(() => {});
    } else if (frame.kind.case === "event" && frame.kind.value.kind.case === "adminAnswer") {
      const a = frame.kind.value.kind.value;
      void this.reports().then((x) => x.answered(a.reportId, a.text)).catch(() => {});
    }
  }

  /** Reports held back until this device caught up with their group are checked again (reports.ts). */
  private async retryReports(): Promise<void> {
    if (this.reportsHeld) await (await this.reports()).retry();
  }

  /** A request to leave a group that an epoch change dropped is made again (member.ts). */
  private async renewLeaving(): Promise<void> {
    if (this.renewing || ![...this.ctx.convs.values()].some((c) => c.leaving && !c.left)) return;
    this.renewing = true;
    try {
      await (await import("./member")).renewLeaving(this.ctx);
    } finally {
      this.renewing = false;
    }
  }

  private async afterOnline(wire: Wire): Promise<void> {
    try {
      await this.own.refillKeyPackages(wire);
      await this.invites.load(wire).catch(() => {});
      await this.outbox.flush();
      while (this.ctx.restoredPeers.length) {
        await this.convs.start(this.ctx.restoredPeers[0]).catch(() => {});
        this.ctx.restoredPeers.shift();
      }
    } catch {
      // Retried at the next connection.
    }
  }

  // ---- invitations to groups ----------------------------------------------------------------------

  /** Invitations for this account that are still open, oldest first. */
  invitations(): PendingInvitation[] {
    return this.invites.list();
  }

  /** Accepts an invitation (and its charter): the inviter's client then adds this account. */
  acceptInvitation(id: string): Promise<void> {
    return this.invites.accept(id);
  }

  /** Declines an invitation: the group is told (at the next connection when offline); gone from this device. */
  declineInvitation(id: string): Promise<Declined> {
    return this.invites.decline(id);
  }

  /** Invitations accepted whose group has not added this device yet. */
  acceptedInvitations(): AcceptedInvitation[] {
    return this.invites.waiting();
  }

  /** Objects to a professional's invitation to a group this device is in (groups with a delay for objections). */
  objectToInvitation(peer: string, id: string): Promise<void> {
    return this.invites.objectTo(peer, id);
  }

  // ---- conversations ------------------------------------------------------------------------------

  /** Deletes this device's copies of group messages older than their group's retention. */
  async prune(): Promise<void> {
    await this.convs.prune();
    // A closed séance under erase_after (seances.ts, loaded only when one waits).
    if (erasureWaits(this.ctx.convs.values())) await (await import("./seances")).eraseDue(this.ctx);
  }

  threads(): Thread[] {
    return this.convs.threads();
  }

  /** A thread's messages and group events; in a group, nothing older than its retention. */
  messages(peer: string): Promise<ChatMessage[]> {
    return this.convs.messages(peer);
  }

  /** A group's members, roles and rules as its MLS state says (undefined: not a group here). */
  groupView(peer: string): GroupView | undefined {
    return this.convs.groupView(peer);
  }

  markRead(peer: string): Promise<void> {
    return this.convs.markRead(peer);
  }

  /** Erases a thread from this device only (its messages); the others keep their copies. */
  eraseThread(peer: string): Promise<void> {
    return this.convs.erase(peer);
  }

  /** Asks to leave a group: a facilitator's client then removes this device (the relay relays it). */
  async leaveGroup(peer: string): Promise<void> {
    return (await import("./member")).leaveGroup(this.ctx, peer);
  }

  /** Reports a received group message to the group's facilitators (sealed to their devices). */
  async reportMessage(peer: string, key: string, reason: string): Promise<void> {
    return (await import("./reports")).reportMessage(this.ctx, peer, key, reason);
  }

  /** Reports a received group message to the instance's admins (its text revealed to them); returns the report's number. */
  async reportToAdmins(peer: string, key: string, reason: string): Promise<string> {
    return (await import("./reports")).reportToAdmins(this.ctx, peer, key, reason);
  }

  /** The reports this facilitator device keeps (reports.ts, loaded on demand). */
  async reports(): Promise<import("./reports").Reports> {
    return new (await import("./reports")).Reports(this.ctx);
  }

  /** How many reports this device keeps open for a group (a facilitator's). */
  openReports(peer: string): number {
    return this.ctx.convs.get(peer.slice(1))?.reportsOpen ?? 0;
  }

  /** A report was kept on this device, or the admins answered one of this account's. */
  onReport(fn: (news: import("./reports").ReportNews) => void): () => void {
    this.ctx.listeners.report.add(fn);
    return () => this.ctx.listeners.report.delete(fn);
  }

  /** Séance actions (seances.ts, loaded on demand). */
  async seances(): Promise<import("./seances").Seances> {
    return new (await import("./seances")).Seances(this.ctx, this.roster);
  }

  /** A group's séance as this device accepted it, and whether this account may write now. */
  seanceView(peer: string): SeanceView | undefined {
    const meta = this.ctx.convs.get(peer.slice(1));
    return meta && this.ctx.account ? seanceView(meta, this.ctx.account.handle) : undefined;
  }

  /** Web Push: this device's subscription with the relay and its notification choices (push.ts, loaded on demand). */
  async push(): Promise<import("./push").Push> {
    return new (await import("./push")).Push(this.ctx);
  }

  /** A facilitator's tools for groups (facilitate.ts, loaded on demand: never in a visitor's first load). */
  async facilitator(): Promise<import("./facilitate").Facilitator> {
    return new (await import("./facilitate")).Facilitator(this.ctx, this.roster);
  }

  /** The account's canonical handle, or NOT_FOUND. */
  lookup(handle: string): Promise<string> {
    return this.convs.lookup(handle);
  }

  /** Opens an encrypted direct conversation with `peer` unless one exists; returns the peer's handle. */
  startConversation(peerInput: string): Promise<string> {
    return this.convs.start(peerInput);
  }

  /** Queues a message to `peer`; it is sent now if online, else at the next connection. */
  sendText(peer: string, text: string): Promise<ChatMessage> {
    return this.outbox.sendText(peer, text);
  }

  /** Sends again a message the relay refused (status "failed"): it goes back in the queue. */
  retryMessage(key: string): Promise<void> {
    return this.outbox.retry(key);
  }

  /** Sends every pending message, oldest first. */
  flushOutbox(): Promise<void> {
    return this.outbox.flush();
  }

  // ---- devices and safety numbers ------------------------------------------------------------------

  /** The people of a thread, each with their devices (from the MLS leaves), this account first. */
  people(peer: string): PersonView[] {
    return people.people(this.ctx, peer);
  }

  /** The safety number with `handle` in the thread `peer` (undefined: not there, or oneself). */
  safetyNumber(peer: string, handle: string): SafetyView | undefined {
    return people.safetyNumber(this.ctx, peer, handle);
  }

  /**
   * The user compared `number` with `handle` and found it the same: kept on this device with the
   * devices it stands for. Throws when it is not the current number (the devices changed since).
   */
  markVerified(peer: string, handle: string, number: string): Promise<void> {
    return people.markVerified(this.ctx, peer, handle, number);
  }

  // ---- contact links ------------------------------------------------------------------------------

  /** A new contact link; `presentation` (at most 500 bytes) is shown to whoever opens it. */
  createContactLink(label: string, expiresInHours: number, presentation = ""): Promise<ContactLinkInfo> {
    return this.ctx.requireWire().call({ case: "createContactLink", value: { label, expiresInHours, presentation } }, "contactLink");
  }

  listContactLinks(): Promise<ContactLinkInfo[]> {
    return this.convs.listContactLinks();
  }

  revokeContactLink(token: string): Promise<void> {
    return this.convs.revokeContactLink(token);
  }

  /** Remembers on this device whom a contact link led to (reopened later, even once stopped). */
  async rememberLink(token: string, owner: string): Promise<void> {
    await this.ctx.store.write([put("kv", `link/${token}`, owner)]);
  }

  /** Whom a contact link opened on this device led to, if it was. */
  linkOwner(token: string): Promise<string | undefined> {
    return this.ctx.store.get<string>("kv", `link/${token}`);
  }

  // ---- devices of this account (pairing) and backups ----------------------------------------------

  /** This account's devices as its chain lists them. */
  ownDevices(): Promise<{ fingerprint: string; self: boolean; addedMs: number }[]> {
    return this.own.ownDevices();
  }

  /** New devices waiting to join this account. */
  deviceRequests(): Promise<DeviceRequestInfo[]> {
    return this.own.deviceRequests();
  }

  /** Starts approving a new device: exchanges nonces; the person then types the code it shows. */
  startApproval(request: DeviceRequestInfo, signal?: AbortSignal): Promise<Approval> {
    return this.own.startApproval(request, signal);
  }

  /**
   * Adds the new device if `typed` is the code it shows (a signed link in the account's chain);
   * otherwise throws WrongPairingCode and adds nothing (after three wrong codes, never).
   */
  finishApproval(approval: Approval, typed: string): Promise<bigint> {
    return this.own.finishApproval(approval, typed);
  }

  /**
   * Makes a backup file's text. This device's keys cannot leave the browser, so the backup holds a
   * new key registered as another device of the account, and the messages' text; a browser that
   * restores it becomes a device of the same account and opens new conversations with the peers.
   */
  exportBackup(passphrase: string): Promise<string> {
    return this.own.exportBackup(passphrase);
  }

  /** Groups this account alone leads while others are in them: it cannot leave them, nor delete itself. */
  groupsLedAlone(): Thread[] {
    return ledAlone(this.threads(), (peer) => this.groupView(peer));
  }

  /**
   * Deletes the account (`handle` must be its own): leaves each group first (LastFacilitator, and
   * nothing done, where it is the only facilitator), then DeleteAccount, then forgets this device.
   */
  async deleteAccount(handle: string): Promise<void> {
    await deleteAccount(this.ctx, handle, { threads: () => this.threads(), groupView: (p) => this.groupView(p), leave: (p) => this.leaveGroup(p) });
    await this.forget();
  }

  /** Forgets everything stored on this device. */
  async forget(): Promise<void> {
    this.stop();
    await this.ctx.store.clear();
    this.ctx.account = undefined;
    this.ctx.convs.clear();
    this.ctx.groups.clear();
  }
}
