// What every part of the client shares (messenger.ts builds one and hands it to each part): the
// store, this device's account and MLS identity, the connection once signed in, the conversations
// and their MLS states, the relay's clock as learnt, the one-at-a-time queue of MLS operations,
// and the listeners the page registered. Runs on the page's (or node's) single thread.
import * as mls from "./mls";
import { accountKind, messageKey, type Account, type ChatMessage, type ConnState, type ConvMeta } from "./model";
import type { GroupNotice } from "./groups";
import type { HelloResult } from "./proto";
import type { ReportNews } from "./reports";
import { put, type Op, type Store } from "./store";
import * as verify from "./verify";
import type { VerifiedRecord } from "./verify";
import { ConnectionLost, type Wire } from "./wire";

/**
 * How far ahead of this device's clock the relay's may be taken to be: a relay that says it is later
 * than that cannot make the group's retention delete history early (it may only make it late).
 */
const MAX_SERVER_AHEAD_MS = 5 * 60_000;
const DAY_MS = 86_400_000;

export type Listener = () => void;

export class Context {
  account?: Account;
  identity?: mls.SigningIdentity;
  hello?: HelloResult;
  /** The signed-in connection, while there is one. */
  wire?: Wire;
  state: ConnState = "offline";
  /** When the next connection attempt starts (ms since epoch), while offline. */
  retryAt = 0;
  readonly convs = new Map<string, ConvMeta>();
  readonly groups = new Map<string, mls.GroupStateHandle>();
  /** Whom this device's user verified, by handle (kept in the "kv" table as "verified/<handle>"). */
  readonly verified = new Map<string, VerifiedRecord>();
  /** Peers known from a restored backup (their threads exist before any conversation does). */
  readonly restored = new Set<string>();
  /** Restored peers whose conversations are still to be opened (at the next connection). */
  restoredPeers: string[] = [];
  readonly listeners = { state: new Set<Listener>(), change: new Set<Listener>(), incoming: new Set<(m: ChatMessage) => void>(), report: new Set<(news: ReportNews) => void>() };
  private queue: Promise<unknown> = Promise.resolve();
  /** Relay's clock minus this device's (from the times the relay stamps), once one was seen. */
  private serverOffset = -Infinity;

  constructor(
    readonly store: Store,
    /** This device's clock (tests move it). */
    readonly now: () => number,
  ) {}

  /** Reads what the store holds: the account, conversations, restored peers and verifications. */
  async load(): Promise<void> {
    const account = await this.store.get<Account>("kv", "account");
    if (account && !account.reportKey) {
      // A record from before report keys: this device makes its own now (in its next leaves).
      account.reportKey = crypto.getRandomValues(new Uint8Array(32));
      await this.store.write([put("kv", "account", account)]);
    }
    if (account) this.useAccount(account);
    for (const c of await this.store.list<ConvMeta>("convs")) {
      // Records written before ranges: single handled seqs.
      c.above = (c.above as unknown[]).map((x) => (typeof x === "number" ? [x, x] : x) as [number, number]);
      this.convs.set(c.id, c);
    }
    for (const p of (await this.store.get<string[]>("kv", "restoredPeers")) ?? []) this.restored.add(p);
    for (const v of await this.store.list<VerifiedRecord>("kv", "verified/")) this.verified.set(v.handle, v);
    // Conversations stored before devices were tracked: start from the devices their state holds,
    // so that the next new device is announced.
    for (const c of this.convs.values()) {
      if (!c.ready || c.devices) continue;
      const bytes = await this.store.get<Uint8Array>("groups", c.id);
      try {
        if (bytes) c.devices = verify.devicesOf(mls.decodeState(bytes));
      } catch {
        // An unreadable state: its next change starts the tracking.
      }
    }
  }

  useAccount(account: Account): void {
    this.account = account;
    this.identity = {
      handle: account.handle,
      ref: mls.registerSigningKey(account.mlsKeyId, account.mlsKey),
      publicKey: account.mlsKey.publicKey,
      kind: accountKind(account.type),
      reportKey: account.reportKey,
    };
  }

  /** Whether the relay says this account is a professional's (every leaf of it says so too). */
  get professional(): boolean {
    return accountKind(this.account?.type) === "professional";
  }

  // ---- events -------------------------------------------------------------------------------------

  setState(s: ConnState): void {
    if (this.state === s) return;
    this.state = s;
    this.stateChanged();
  }

  stateChanged(): void {
    for (const fn of this.listeners.state) fn();
  }

  /** Threads, messages or links changed. */
  changed(): void {
    for (const fn of this.listeners.change) fn();
  }

  /** Tells the page of a new message or group event (after the current operation). */
  announce(msg: ChatMessage): void {
    queueMicrotask(() => this.listeners.incoming.forEach((fn) => fn(msg)));
  }

  // ---- shared helpers -----------------------------------------------------------------------------

  /** Runs fn after every MLS operation queued before it (one at a time). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  requireWire(): Wire {
    if (!this.wire || this.wire.isClosed) throw new ConnectionLost("offline");
    return this.wire;
  }

  /** A conversation's MLS state (read from the store the first time). */
  async group(id: string): Promise<mls.GroupStateHandle> {
    let g = this.groups.get(id);
    if (!g) {
      const bytes = await this.store.get<Uint8Array>("groups", id);
      if (!bytes) throw new Error("no group state");
      g = mls.decodeState(bytes);
      this.groups.set(id, g);
    }
    return g;
  }

  /** The newest conversation with `peer` whose group this device holds. */
  activeConv(peer: string): ConvMeta | undefined {
    let best: ConvMeta | undefined;
    for (const c of this.convs.values()) {
      if (c.peer === peer && c.ready && !c.left && (!best || c.createdMs > best.createdMs)) best = c;
    }
    return best;
  }

  /** The conversation a thread shows: the group's, or the newest direct one with the peer. */
  convOf(peer: string): ConvMeta | undefined {
    return peer.startsWith("#") ? this.convs.get(peer.slice(1)) : this.activeConv(peer);
  }

  /** Records something that happened in a group, shown in the conversation and said to screen readers. */
  note(meta: ConvMeta, seq: number, time: number, event: GroupNotice, ops: Op[]): void {
    const when = time || this.serverNow();
    const msg: ChatMessage = {
      key: messageKey(meta.peer, when),
      peer: meta.peer,
      conv: meta.id,
      seq,
      mine: false,
      sender: "",
      text: "",
      time: when,
      status: "received",
      event,
    };
    ops.push(put("messages", msg.key, msg));
    meta.lastTime = Math.max(meta.lastTime, when);
    this.announce(msg);
  }

  // ---- the relay's clock --------------------------------------------------------------------------

  sawServerTime(ms: number): void {
    if (ms > 0) this.serverOffset = Math.min(Math.max(this.serverOffset, ms - this.now()), MAX_SERVER_AHEAD_MS);
  }

  /**
   * The relay's time now, as far as this device knows (its own clock until the relay stamped
   * something), never more than MAX_SERVER_AHEAD_MS ahead of this device's clock.
   */
  serverNow(): number {
    return this.now() + (Number.isFinite(this.serverOffset) ? this.serverOffset : 0);
  }

  /** Messages of a group older than this are past its retention (undefined: kept). */
  cutoff(meta: ConvMeta | undefined): number | undefined {
    const days = meta?.rules?.retentionDays ?? 0;
    return days > 0 ? this.serverNow() - days * DAY_MS : undefined;
  }
}
