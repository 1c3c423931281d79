// The client: account, connection loop with backoff and catch-up, MLS direct conversations and
// groupes de parole (rules checked before every commit is adopted, group events, retention),
// de-duplicated deliveries, an outbox that survives reloads. Shared by the web page and node tests.
import { create, fromBinary } from "@bufbuild/protobuf";
import { equalBytes, fromHex, fromUtf8, randomHex, sleep, toHex, utf8 } from "./bytes";
import { findDevice } from "./device-chain";
import * as devices from "./devices";
import type { Approval, PairingSteps } from "./devices";
import * as groups from "./groups";
import type { GroupNotice, RosterEntry, RulesView, TrackedInvitation } from "./groups";
import * as mls from "./mls";
import { roleOf, type Fail } from "./policy";
import * as verify from "./verify";
import type { DeviceRecord, Verification, VerifiedRecord } from "./verify";
import {
  AccountType,
  authTranscript,
  ConversationKind,
  DeliveryKind,
  ErrorCode,
  HelloSchema,
  InvitationSchema,
  InviteeType,
  JoinRule,
  ProtocolVersion,
  Role as GroupRole,
  SignedInvitationSchema,
  type AuthResult,
  type ContactLinkInfo,
  type Delivery,
  type DeviceRequestInfo,
  type FetchedKeyPackage,
  type HelloResult,
  type ServerFrame,
} from "./proto";
import { openBackup, sealBackup } from "./backup";
import { exportPkcs8, generateKey, importPkcs8, sign, type KeyHandle } from "./signer";
import { del, put, type Op, type Store } from "./store";
import { ConnectionLost, RelayError, Wire } from "./wire";

export type ConnState = "connecting" | "online" | "offline" | "stopped";
export type Role = "helper" | "visitor";

export interface Account {
  handle: string;
  accountId: bigint;
  deviceId: bigint;
  instanceId: Uint8Array;
  device: KeyHandle;     // Authenticates this device to the relay.
  mlsKey: KeyHandle;     // Signs this device's MLS messages.
  mlsKeyId: Uint8Array;
  role: Role;
  createdMs: number;
  /** The account type the relay gave at the last sign-in (AccountType; absent in old records: a peer). */
  type?: number;
}

export interface ConvMeta {
  id: string;              // Conversation id, hex.
  /**
   * The thread's key: in a direct conversation, the other account's handle (from the group's MLS
   * credentials once joined); in a group, "#" + id (no handle has a "#").
   */
  peer: string;
  processed: number;       // Every entry up to this seq is handled.
  above: [number, number][];  // Handled ranges (inclusive) above `processed`, sorted, apart.
  ready: boolean;          // This device holds the group's MLS state.
  unread: number;
  lastTime: number;
  createdMs: number;
  group?: boolean;         // A groupe de parole (the relay's word, checked against the MLS state).
  roster?: RosterEntry[];  // Group: who is in it, from the MLS state.
  rules?: RulesView;       // Group: what the member sees of its rules.
  invitations?: Record<string, TrackedInvitation>;  // Group: by nonce (hex).
  refused?: boolean;       // A commit that breaks the group's rules was refused (the group stayed).
  broken?: boolean;        // A change of the group could not be read.
  left?: boolean;          // This device was removed from the group.
  /** Proposals of this epoch refused by the rules (reference, base64 → why): never kept nor committed. */
  refusedProposals?: Record<string, Fail>;
  /** Every device of the conversation as its MLS leaves showed it last (a new one is announced). */
  devices?: DeviceRecord[];
  /** Fingerprints of devices that joined while their owner's signed chain did not list them. */
  unapproved?: string[];
}

/** One person of a conversation: their devices (from the MLS leaves) and whether they were verified. */
export interface PersonView {
  handle: string;
  self: boolean;
  devices: string[];  // Fingerprints, one per device.
  unapproved: string[];  // Those of `devices` their owner's chain did not list when they joined.
  verification?: Verification;  // Not for oneself.
}

/** What two people compare to check that nobody sits between them (docs/safety-numbers.md). */
export interface SafetyView {
  handle: string;
  number: string;
  devices: string[];
  ownDevices: string[];
  verification: Verification;
}

export type MessageStatus = "pending" | "sent" | "received" | "failed" | "unreadable";

export interface ChatMessage {
  key: string;           // Store key: thread key (peer), NUL, local order.
  peer: string;          // The thread's key (see ConvMeta.peer).
  conv: string;          // "" until the conversation exists.
  seq: number;           // 0 until the relay accepted it.
  mine: boolean;
  sender: string;
  text: string;
  time: number;
  status: MessageStatus;
  payload?: Uint8Array;  // Own message already encrypted, not yet confirmed.
  epoch?: number;
  professional?: boolean;  // The sender's leaf says a professional account.
  event?: GroupNotice;     // Not a message: something that happened in the group.
}

export interface Thread {
  peer: string;          // The thread's key.
  unread: number;
  lastTime: number;
  ready: boolean;
  group: boolean;
  members: string[];     // Group: the other members' handles.
}

/** A group as its member sees it. */
export interface GroupView {
  roster: RosterEntry[];
  rules?: RulesView;
  refused: boolean;
  broken: boolean;
  left: boolean;
  invitations: Record<string, TrackedInvitation>;
}

/** An invitation to a group addressed to this account, not yet accepted. */
export interface PendingInvitation {
  id: string;            // The nonce, hex.
  conversation: string;  // Hex.
  inviter: string;
  professional: boolean;
  accompanying: string;
  charter: string;       // What the invitee accepts.
  expiresAtMs: number;
}

/** The thread key of a group. */
export function groupKey(id: string): string {
  return `#${id}`;
}

export interface MessengerOptions {
  url: string;
  store: Store;
  clientName?: string;
  /** Key packages kept on the relay (a last-resort one is added). */
  keyPackageStock?: number;
  /** This device's clock (tests move it; default Date.now). */
  now?: () => number;
}

/** The peer has no key package: nobody can start a conversation with them now. */
export class PeerUnreachable extends Error {}

/** The backup was made on another instance. */
export class OtherInstance extends Error {}

interface BackupPayload {
  handle: string;
  role: Role;
  instanceId: string;
  deviceId: string;
  publicKey: string;
  privateKey: string;
  messages: { peer: string; mine: boolean; sender: string; text: string; time: number; sent: boolean }[];
}

const MAX_BACKOFF_MS = 30_000;
const DAY_MS = 86_400_000;
const PRUNE_EVERY_MS = 60_000;
/**
 * How far ahead of this device's clock the relay's may be taken to be: a relay that says it is later
 * than that cannot make the group's retention delete history early (it may only make it late).
 */
const MAX_SERVER_AHEAD_MS = 5 * 60_000;
/** Refused proposals remembered per epoch (a member could send any number). */
const MAX_REFUSED_PROPOSALS = 256;

function accountKind(type: number | undefined): "peer" | "professional" {
  return type === AccountType.PROFESSIONAL ? "professional" : "peer";
}

type Listener = () => void;

export class Messenger {
  account?: Account;
  state: ConnState = "offline";
  /** When the next connection attempt starts (ms since epoch), while offline. */
  retryAt = 0;
  hello?: HelloResult;

  private readonly url: string;
  private readonly store: Store;
  private readonly clientName: string;
  private readonly stock: number | undefined;
  private readonly now: () => number;
  private wire?: Wire;
  private anon?: { wire: Wire; fresh: boolean };
  private running = false;
  private wake?: () => void;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly convs = new Map<string, ConvMeta>();
  private readonly groups = new Map<string, mls.GroupStateHandle>();
  private identity?: mls.SigningIdentity;
  private flushing = false;
  private readonly starting = new Map<string, Promise<string>>();
  private restoredPeers: string[] = [];
  /** Peers known from a restored backup (their threads exist before any conversation does). */
  private readonly restored = new Set<string>();
  private retryTimer?: ReturnType<typeof setTimeout>;
  private flushAgain = false;
  private readonly listeners = { state: new Set<Listener>(), change: new Set<Listener>() };
  private readonly incoming = new Set<(m: ChatMessage) => void>();
  /** Relay's clock minus this device's (from the times the relay stamps), once one was seen. */
  private serverOffset = -Infinity;
  private pruneTimer?: ReturnType<typeof setInterval>;
  /** Invitations to groups for this account (from the relay at each connection, and live). */
  private readonly pending = new Map<string, PendingInvitation>();
  /** Whom this device's user verified, by handle (kept in the "kv" table as "verified/<handle>"). */
  private readonly verified = new Map<string, VerifiedRecord>();
  /** New devices announced in this batch, to check against their owners' chains afterwards. */
  private readonly deviceChecks: { id: string; handle: string; key: Uint8Array; seq: number; time: number }[] = [];

  private constructor(opts: MessengerOptions) {
    this.url = opts.url;
    this.store = opts.store;
    this.clientName = opts.clientName ?? "cercle-web/0.1";
    this.stock = opts.keyPackageStock;
    this.now = opts.now ?? Date.now;
  }

  static async load(opts: MessengerOptions): Promise<Messenger> {
    const m = new Messenger(opts);
    const account = await m.store.get<Account>("kv", "account");
    if (account) m.useAccount(account);
    for (const c of await m.store.list<ConvMeta>("convs")) {
      // Records written before ranges: single handled seqs.
      c.above = (c.above as unknown[]).map((x) => (typeof x === "number" ? [x, x] : x) as [number, number]);
      m.convs.set(c.id, c);
    }
    for (const p of (await m.store.get<string[]>("kv", "restoredPeers")) ?? []) m.restored.add(p);
    for (const v of await m.store.list<VerifiedRecord>("kv", "verified/")) m.verified.set(v.handle, v);
    // Conversations stored before devices were tracked: start from the devices their state holds,
    // so that the next new device is announced.
    for (const c of m.convs.values()) {
      if (!c.ready || c.devices) continue;
      const bytes = await m.store.get<Uint8Array>("groups", c.id);
      try {
        if (bytes) c.devices = verify.devicesOf(mls.decodeState(bytes));
      } catch {
        // An unreadable state: its next change starts the tracking.
      }
    }
    return m;
  }

  // ---- events -------------------------------------------------------------------------------------

  onState(fn: Listener): () => void {
    this.listeners.state.add(fn);
    return () => this.listeners.state.delete(fn);
  }

  /** Threads, messages or links changed. */
  onChange(fn: Listener): () => void {
    this.listeners.change.add(fn);
    return () => this.listeners.change.delete(fn);
  }

  /** A message from the peer was received. */
  onIncoming(fn: (m: ChatMessage) => void): () => void {
    this.incoming.add(fn);
    return () => this.incoming.delete(fn);
  }

  private setState(s: ConnState): void {
    if (this.state === s) return;
    this.state = s;
    for (const fn of this.listeners.state) fn();
  }

  private changed(): void {
    for (const fn of this.listeners.change) fn();
  }

  // ---- before an account exists -------------------------------------------------------------------

  /** Opens (or reuses) a connection that has said hello but is not authenticated. */
  async connectAnonymous(): Promise<HelloResult> {
    if (this.anon && !this.anon.wire.isClosed && this.hello) return this.hello;
    const wire = await Wire.open(this.url);
    wire.onPush = (f) => this.onPush(wire, f);
    const hello = await wire.call(
      { case: "hello", value: create(HelloSchema, { protocolVersion: ProtocolVersion.PROTOCOL_VERSION_1, clientName: this.clientName }) },
      "hello",
    );
    this.hello = hello;
    this.anon = { wire, fresh: true };
    return hello;
  }

  async resolveContactLink(token: string): Promise<ContactLinkInfo> {
    if (this.wire && !this.wire.isClosed) {
      return this.wire.call({ case: "resolveContactLink", value: { token } }, "contactLink");
    }
    await this.connectAnonymous();
    return this.anon!.wire.call({ case: "resolveContactLink", value: { token } }, "contactLink");
  }

  /**
   * Creates the account and this device, then starts the connection loop. With contactToken, the
   * account is a visitor's and the conversation with the link's owner is opened.
   */
  async register(handle: string, opts: { code?: string; contactToken?: string; role?: Role } = {}): Promise<void> {
    await this.connectAnonymous();
    const anon = this.anon!;
    let challenge = this.hello!.challenge;
    if (!anon.fresh) {
      challenge = (await anon.wire.call({ case: "getChallenge", value: {} }, "challenge")).challenge;
    }
    anon.fresh = false;
    const device = await generateKey();
    const mlsKey = await generateKey();
    // The account's device chain starts here: this device adds itself, under the handle as the
    // relay will store it (NFC).
    const first = await devices.firstLink(handle.normalize("NFC"), device, mlsKey.publicKey);
    const signature = await sign(device, authTranscript(this.hello!.instanceId, challenge));
    const auth = await anon.wire.call(
      {
        case: "register",
        value: {
          handle,
          devicePublicKey: device.publicKey,
          signature,
          registrationCode: opts.code ?? "",
          contactToken: opts.contactToken ?? "",
          link: first.link,
        },
      },
      "auth",
    );
    await devices.writePin(this.store, auth.handle, first.view);
    const account = this.newAccount(auth, auth.deviceId, device, mlsKey, opts.role ?? (opts.contactToken ? "visitor" : "helper"));
    await this.store.write([put("kv", "account", account)]);
    this.useAccount(account);
    this.anon = undefined;
    this.startLoop(anon.wire);
  }

  private useAccount(account: Account): void {
    this.account = account;
    this.identity = {
      handle: account.handle,
      ref: mls.registerSigningKey(account.mlsKeyId, account.mlsKey),
      publicKey: account.mlsKey.publicKey,
      kind: accountKind(account.type),
    };
  }

  /** Whether the relay says this account is a professional's (every leaf of it says so too). */
  get professional(): boolean {
    return accountKind(this.account?.type) === "professional";
  }

  /**
   * Keeps the account type the relay gives at sign-in: key packages declare it (the relay refuses
   * a professional's package that does not, and drops the old ones when an admin changes it).
   */
  private async learnType(auth: AuthResult): Promise<void> {
    const account = this.account!;
    if ((account.type ?? AccountType.PEER) === (auth.type || AccountType.PEER)) return;
    account.type = auth.type;
    await this.store.write([put("kv", "account", account)]);
    this.useAccount(account);
  }

  // ---- the relay's clock --------------------------------------------------------------------------

  private sawServerTime(ms: number): void {
    if (ms > 0) this.serverOffset = Math.min(Math.max(this.serverOffset, ms - this.now()), MAX_SERVER_AHEAD_MS);
  }

  /**
   * The relay's time now, as far as this device knows (its own clock until the relay stamped
   * something), never more than MAX_SERVER_AHEAD_MS ahead of this device's clock.
   */
  serverNow(): number {
    return this.now() + (Number.isFinite(this.serverOffset) ? this.serverOffset : 0);
  }

  // ---- the connection loop ------------------------------------------------------------------------

  /** Connects, and reconnects with backoff until stop(). */
  start(): void {
    if (!this.account) throw new Error("no account");
    this.startLoop(undefined);
  }

  private startLoop(first: Wire | undefined): void {
    if (this.running) return;
    this.running = true;
    void this.prune();
    this.pruneTimer ??= setInterval(() => void this.prune(), PRUNE_EVERY_MS);
    void this.loop(first);
  }

  stop(): void {
    this.running = false;
    clearInterval(this.pruneTimer);
    this.pruneTimer = undefined;
    this.wire?.close();
    this.anon?.wire.close();
    this.wake?.();
    this.setState("stopped");
  }

  /** Drops the connection now (the device went offline); the loop reconnects later. */
  disconnect(): void {
    this.wire?.close();
  }

  /** Skips the wait before the next attempt (the device is back online). */
  reconnectNow(): void {
    this.wake?.();
  }

  /** Waits until the state is online (or the timeout passes). */
  async waitOnline(timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (this.state !== "online" && Date.now() < end) await sleep(50);
    return this.state === "online";
  }

  private async loop(first: Wire | undefined): Promise<void> {
    let backoff = 1000;
    while (this.running) {
      let wire = first;
      first = undefined;
      try {
        if (!wire) {
          this.setState("connecting");
          wire = await Wire.open(this.url);
          const w = wire;
          wire.onPush = (f) => this.onPush(w, f);
          await this.authenticate(wire);
        }
        this.wire = wire;
        this.setState("online");
        backoff = 1000;
        void this.afterOnline(wire);
        await wire.closed;
      } catch (e) {
        wire?.close();
        if (e instanceof RelayError && e.code === ErrorCode.AUTH_FAILED) backoff = MAX_BACKOFF_MS;
      }
      this.wire = undefined;
      if (!this.running) break;
      this.setState("offline");
      const delay = Math.round(backoff * (0.75 + Math.random() * 0.5));
      this.retryAt = Date.now() + delay;
      for (const fn of this.listeners.state) fn();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }

  private async authenticate(wire: Wire): Promise<void> {
    const account = this.account!;
    const hello = await wire.call(
      { case: "hello", value: create(HelloSchema, { protocolVersion: ProtocolVersion.PROTOCOL_VERSION_1, clientName: this.clientName }) },
      "hello",
    );
    this.hello = hello;
    const signature = await sign(account.device, authTranscript(hello.instanceId, hello.challenge));
    const auth = await wire.call({ case: "authenticate", value: { devicePublicKey: account.device.publicKey, signature } }, "auth");
    await this.learnType(auth);
  }

  private async afterOnline(wire: Wire): Promise<void> {
    try {
      await this.refillKeyPackages(wire);
      await this.loadInvitations(wire).catch(() => {});
      await this.flushOutbox();
      while (this.restoredPeers.length) {
        await this.startConversation(this.restoredPeers[0]).catch(() => {});
        this.restoredPeers.shift();
      }
    } catch {
      // Retried at the next connection.
    }
  }

  private requireWire(): Wire {
    if (!this.wire || this.wire.isClosed) throw new ConnectionLost("offline");
    return this.wire;
  }

  /** Runs fn after every MLS operation queued before it (one at a time). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  // ---- key packages -------------------------------------------------------------------------------

  private async refillKeyPackages(wire: Wire): Promise<void> {
    const target = this.stock ?? (this.account!.role === "helper" ? 10 : 2);
    const count = await wire.call({ case: "countKeyPackages", value: {} }, "countKeyPackages");
    const fresh: mls.StoredKeyPackage[] = [];
    for (let i = count.stored; i < target; i++) fresh.push(await mls.newKeyPackage(this.identity!));
    if (!count.hasLastResort) fresh.push(await mls.newKeyPackage(this.identity!, true));
    if (fresh.length === 0) return;
    // Private parts first: a package the relay hands out must be usable.
    await this.store.write(fresh.map((k) => put("keypackages", k.ref, k)));
    await wire.call(
      { case: "uploadKeyPackages", value: { keyPackages: fresh.map((k) => ({ data: k.encoded, lastResort: k.lastResort })) } },
      "uploadKeyPackages",
    );
  }

  // ---- deliveries ---------------------------------------------------------------------------------

  private onPush(wire: Wire, frame: ServerFrame): void {
    if (frame.kind.case === "deliveries") {
      const batch = frame.kind.value.deliveries;
      void this.exclusive(() => this.handleBatch(wire, batch));
    } else if (frame.kind.case === "event" && frame.kind.value.kind.case === "keyPackagesLow") {
      void this.refillKeyPackages(wire).catch(() => {});
    } else if (frame.kind.case === "event" && frame.kind.value.kind.case === "invitationReceived") {
      this.learnInvitation(frame.kind.value.kind.value.signedInvitation);
      this.changed();
    }
  }

  private async loadInvitations(wire: Wire): Promise<void> {
    const list = await wire.call({ case: "listInvitations", value: {} }, "invitations");
    this.pending.clear();
    for (const bytes of list.signedInvitations) this.learnInvitation(bytes);
    this.changed();
  }

  private learnInvitation(bytes: Uint8Array): void {
    try {
      const i = fromBinary(InvitationSchema, fromBinary(SignedInvitationSchema, bytes).invitation);
      if (i.invitee !== this.account?.handle) return;
      const id = toHex(i.nonce);
      this.pending.set(id, {
        id,
        conversation: toHex(i.conversationId),
        inviter: i.inviter,
        professional: i.inviteeType === InviteeType.INVITEE_PROFESSIONAL,
        accompanying: i.accompanying,
        charter: i.charter,
        expiresAtMs: Number(i.expiresAtMs),
      });
    } catch {
      // Unreadable: not shown.
    }
  }

  // ---- invitations to groups ----------------------------------------------------------------------

  /** Invitations for this account that are still open, oldest first. */
  invitations(): PendingInvitation[] {
    const now = this.serverNow();
    return [...this.pending.values()].filter((i) => i.expiresAtMs > now).sort((a, b) => a.expiresAtMs - b.expiresAtMs);
  }

  /** Accepts an invitation (and its charter): the inviter's client then adds this account. */
  async acceptInvitation(id: string): Promise<void> {
    const i = this.pending.get(id);
    if (!i) return;
    // Before the relay hears of it: the Welcome may follow at once.
    await this.rememberAccepted(i.conversation);
    await this.requireWire().call({ case: "acceptInvitation", value: { conversationId: fromHex(i.conversation), nonce: fromHex(id) } }, "done");
    this.pending.delete(id);
    this.changed();
  }

  /** Objects to a professional's invitation to a group this device is in (groups with a delay for objections). */
  async objectToInvitation(peer: string, id: string): Promise<void> {
    const meta = this.convs.get(peer.slice(1));
    if (!meta?.group) return;
    await this.requireWire().call({ case: "objectToInvitation", value: { conversationId: fromHex(meta.id), nonce: fromHex(id) } }, "done");
  }

  private async handleBatch(wire: Wire, deliveries: Delivery[]): Promise<void> {
    if (!this.account) return;
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
      const meta = this.convs.get(id);
      if (meta && meta.processed > 0) {
        wire.fire({ case: "ack", value: { conversationId: fromHex(id), seq: BigInt(meta.processed) } });
      }
    }
    if (touched.size) this.changed();
    if (this.deviceChecks.length) void this.checkNewDevices(wire).catch(() => {});
    // New times from the relay may put older messages past a group's retention.
    if ([...touched].some((id) => this.cutoff(this.convs.get(id)) !== undefined)) void this.prune();
  }

  /** Whether every entry from..to was handled already. */
  private handled(meta: ConvMeta | undefined, from: number, to = from): boolean {
    if (!meta) return false;
    if (to <= meta.processed) return true;
    const start = Math.max(from, meta.processed + 1);
    return meta.above.some(([a, b]) => a <= start && to <= b);
  }

  /**
   * Marks entries from..to handled; the watermark `processed` moves over every contiguous handled
   * entry (an ERASED delivery covers a whole range, so nothing ever waits for the entries it replaces).
   */
  private markHandled(meta: ConvMeta, from: number, to = from): void {
    if (to <= meta.processed) return;
    const ranges = [...meta.above, [Math.max(from, meta.processed + 1), to] as [number, number]].sort((x, y) => x[0] - y[0]);
    const merged: [number, number][] = [];
    for (const r of ranges) {
      const last = merged[merged.length - 1];
      if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
      else merged.push([r[0], r[1]]);
    }
    while (merged.length && merged[0][0] <= meta.processed + 1) {
      meta.processed = Math.max(meta.processed, merged.shift()![1]);
    }
    meta.above = merged;
  }

  private async handleDelivery(wire: Wire, d: Delivery): Promise<void> {
    const id = toHex(d.conversationId);
    const seq = Number(d.seq);
    const erased = d.kind === DeliveryKind.ERASED;
    // An ERASED delivery stands for every entry from erased_from to seq.
    const from = erased && d.erasedFrom > 0n ? Math.min(Number(d.erasedFrom), seq) : seq;
    let meta = this.convs.get(id);
    if (this.handled(meta, from, seq)) return;  // Delivered again after a reconnect.
    this.sawServerTime(Number(d.serverTimeMs));
    const ops: Op[] = [];
    if (erased) {
      if (!meta) return;
      this.markHandled(meta, from, seq);
    } else if (d.kind === DeliveryKind.WELCOME) {
      meta = await this.join(wire, id, d, ops);
    } else if (!meta || !meta.ready || meta.left) {
      // A conversation this device cannot read (joined without a usable Welcome, or left): nothing to do.
      if (!meta) return;
      this.markHandled(meta, seq);
    } else if (d.kind === DeliveryKind.EVENT) {
      // Written by the relay, not an MLS message: never given to ts-mls.
      await this.applyEvent(meta, d, ops);
      this.markHandled(meta, seq);
    } else if (d.senderDevice === this.account!.deviceId) {
      this.markHandled(meta, seq);  // Our own entry, already applied when it was sent.
    } else {
      await this.apply(meta, d, ops);
      this.markHandled(meta, seq);
    }
    ops.push(put("convs", meta.id, meta));
    await this.store.write(ops);
  }

  private async join(wire: Wire, id: string, d: Delivery, ops: Op[]): Promise<ConvMeta> {
    const info = await wire.call({ case: "getConversation", value: { conversationId: d.conversationId } }, "conversation");
    const me = this.account!.handle;
    const expected = new Set(info.members.map((m) => m.handle));
    const isGroup = info.kind === ConversationKind.GROUP;
    const existing = this.convs.get(id);
    const meta: ConvMeta = existing ?? {
      id,
      peer: isGroup ? groupKey(id) : ([...expected].find((h) => h !== me) ?? ""),
      processed: Number(d.seq),
      above: [],
      ready: false,
      unread: 0,
      lastTime: Number(d.serverTimeMs),
      createdMs: Date.now(),
    };
    meta.processed = Math.max(meta.processed, Number(d.seq));
    meta.above = meta.above.filter(([, b]) => b > meta.processed);
    try {
      const { state, used, adder } = await mls.joinFromWelcome(d.payload, (ref) => this.store.get("keypackages", ref));
      const handles = new Set(mls.memberHandles(state));
      if (!handles.has(me)) throw new Error("this account is not in the group");
      if (isGroup || mls.policyBytes(state)) {
        const refusal = await this.checkWelcome(id, state, adder);
        if (refusal) {
          // Not joined: the group stays unread on this device, and the user is told why.
          meta.group = true;
          meta.peer = groupKey(id);
          this.note(meta, Number(d.seq), Number(d.serverTimeMs), { type: "joinRefused", ...refusal }, ops);
          throw new Error("welcome refused");
        }
        // A groupe de parole: who is in it is what its MLS state says (the relay's list may already
        // be newer than the Welcome); every later change is checked against its rules.
        meta.group = true;
        meta.peer = groupKey(id);
        meta.invitations ??= {};
        delete meta.refused;
        delete meta.broken;
        delete meta.left;
        this.describeGroup(meta, state);
        this.note(meta, Number(d.seq), Number(d.serverTimeMs), { type: "youJoined" }, ops);
      } else {
        // A direct conversation holds the two accounts the relay names, nobody else. Who is in it is
        // what the group's credentials say: the peer is named from them, not from the relay.
        const peer = [...handles].find((h) => h !== me);
        if ([...handles].some((x) => !expected.has(x)) || !peer) {
          throw new Error("the group's members are not the conversation's");
        }
        meta.peer = peer;
      }
      this.groups.set(id, state);
      meta.ready = true;
      // Joining a group: the devices seen now are where later changes start from. A new direct
      // conversation with someone already known starts from the devices of the one before, so that a
      // device more (say, the server's) is announced there too.
      meta.devices = meta.group ? undefined : this.activeConv(meta.peer)?.devices;
      this.trackDevices(meta, state, Number(d.seq), Number(d.serverTimeMs), ops);
      ops.push(put("groups", id, mls.encodeState(state)));
      if (!used.lastResort) ops.push(del("keypackages", used.ref));
    } catch {
      meta.ready = false;
    }
    this.convs.set(id, meta);
    return meta;
  }

  /**
   * Whoever added this device to a group must have been allowed to (as the C++ SDK checks): a
   * facilitator, or, in a group open to peers, any member adding a peer; a professional joins only
   * a group whose invitation they accepted on this device; every leaf names an account. (The commit
   * went to the members, who check it; a relay could otherwise seat this device in a copy of the group.)
   */
  private async checkWelcome(id: string, state: mls.GroupStateHandle, adder: number): Promise<{ reason: groups.JoinRefusal; who?: string } | undefined> {
    const rules = groups.rulesOf(state);
    if (!rules) return undefined;  // No rules to check against: every later commit must set them.
    const all = mls.leaves(state);
    if (all.some((l) => !l.basic)) return { reason: "credentialUnsupported" };
    const own = all.find((l) => l.leaf === mls.ownLeaf(state));
    if (!own) return { reason: "notInGroup" };
    const professional = own.professional || this.professional;
    if (professional && !(await this.acceptedHere(id))) return { reason: "notAccepted" };
    const by = all.find((l) => l.leaf === adder)?.handle;
    if (by !== undefined && roleOf(rules, by) === GroupRole.FACILITATOR) return undefined;
    if (by !== undefined && rules.joinRule === JoinRule.OPEN_TO_PEERS && !professional) return undefined;
    return { reason: "adderNotAllowed", who: by };
  }

  /** Whether this device accepted an invitation to the group (conversation id, hex). */
  private async acceptedHere(id: string): Promise<boolean> {
    return ((await this.store.get<string[]>("kv", "acceptedGroups")) ?? []).includes(id);
  }

  /** Remembers on this device that its user accepted an invitation to the group. */
  private async rememberAccepted(id: string): Promise<void> {
    const list = (await this.store.get<string[]>("kv", "acceptedGroups")) ?? [];
    if (!list.includes(id)) await this.store.write([put("kv", "acceptedGroups", [...list, id])]);
  }

  private async group(id: string): Promise<mls.GroupStateHandle> {
    let g = this.groups.get(id);
    if (!g) {
      const bytes = await this.store.get<Uint8Array>("groups", id);
      if (!bytes) throw new Error("no group state");
      g = mls.decodeState(bytes);
      this.groups.set(id, g);
    }
    return g;
  }

  /** Keeps what the page shows of a group (members, roles, rules) in step with its MLS state. */
  private describeGroup(meta: ConvMeta, state: mls.GroupStateHandle): void {
    const { roster, rules } = groups.describe(state, this.account!.handle);
    meta.roster = roster;
    meta.rules = rules;
  }

  /**
   * Announces each new device of someone already in the conversation (said to screen readers too),
   * and remembers the devices the group's leaves show now.
   */
  private trackDevices(meta: ConvMeta, state: mls.GroupStateHandle, seq: number, time: number, ops: Op[]): void {
    const me = this.account!.handle;
    const after = verify.devicesOf(state);
    for (const d of verify.newDevices(meta.devices, after)) {
      const self = d.handle === me;
      const notice = { type: "newDevice", who: d.handle, fingerprint: verify.deviceFingerprint(d.key), self, verifyAgain: !self && this.verified.has(d.handle) } as const;
      this.note(meta, seq, time, notice, ops);
      this.deviceChecks.push({ id: meta.id, handle: d.handle, key: d.key, seq, time });
    }
    meta.devices = after;
  }

  /**
   * Checks each device announced since the last call against its owner's signed chain (read from
   * the relay, checked against this device's pin); one the chain does not list is marked in the
   * roster and announced as unconfirmed. Without a connection, or for an account without a chain,
   * nothing is said.
   */
  private async checkNewDevices(wire: Wire): Promise<void> {
    const checks = this.deviceChecks.splice(0);
    const outside = new Set<(typeof checks)[number]>();
    for (const handle of new Set(checks.map((c) => c.handle))) {
      const mine = checks.filter((c) => c.handle === handle);
      try {
        const info = await wire.call({ case: "lookupAccount", value: { handle } }, "account");
        const view = await devices.checkChain(this.store, info);
        if (!view) continue;
        await devices.writePin(this.store, info.handle, view);
        for (const c of mine) if (!findDevice(view, c.key, true)) outside.add(c);
      } catch (e) {
        if (e instanceof devices.DeviceChainRefused) for (const c of mine) outside.add(c);
      }
    }
    if (!outside.size) return;
    await this.exclusive(async () => {
      const ops: Op[] = [];
      for (const c of outside) {
        const meta = this.convs.get(c.id);
        if (!meta) continue;
        const fingerprint = verify.deviceFingerprint(c.key);
        meta.unapproved = [...new Set([...(meta.unapproved ?? []), fingerprint])];
        this.note(meta, c.seq, c.time, { type: "unapprovedDevice", who: c.handle, fingerprint, self: c.handle === this.account!.handle }, ops);
        ops.push(put("convs", meta.id, meta));
      }
      await this.store.write(ops);
    });
    this.changed();
  }

  /** Records something that happened in a group, shown in the conversation and said to screen readers. */
  private note(meta: ConvMeta, seq: number, time: number, event: GroupNotice, ops: Op[]): void {
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
    queueMicrotask(() => this.incoming.forEach((fn) => fn(msg)));
  }

  private async applyEvent(meta: ConvMeta, d: Delivery, ops: Op[]): Promise<void> {
    if (!meta.group) return;  // Only groups have events.
    const state = await this.group(meta.id);
    meta.invitations ??= {};
    const out = await groups.readEvent(d.payload, state, d.conversationId, meta.invitations);
    const seq = Number(d.seq);
    const time = Number(d.serverTimeMs);
    if (out.deletedSeq !== undefined) {
      // Deleted for everyone by a facilitator: gone from this device too.
      const target = out.deletedSeq;
      for (const m of await this.store.list<ChatMessage>("messages", meta.peer + "\u0000")) {
        if (m.conv === meta.id && m.seq === target && !m.event) ops.push(del("messages", m.key));
      }
    }
    if (out.notice) this.note(meta, seq, time, out.notice, ops);
  }

  private async apply(meta: ConvMeta, d: Delivery, ops: Op[]): Promise<void> {
    const state = await this.group(meta.id);
    if (d.kind === DeliveryKind.APPLICATION) {
      let text = "";
      let status: MessageStatus = "received";
      // The sender is who the MLS credential of the sending leaf names; the relay's sender_device
      // is not trusted for it. An unreadable message is shown as the peer's (nothing is known).
      let sender = meta.group ? "" : meta.peer;
      let professional = false;
      try {
        // Only an application message comes out (a proposal or a commit sent as one is refused
        // unread), and only then is the state (its secret tree, one key used) kept.
        const out = await mls.processIncoming(state, d.payload);
        if (!out.application || !out.sender) throw new Error("not an application message");
        text = fromUtf8(out.application);
        sender = out.sender.handle;
        professional = out.sender.professional;
        this.groups.set(meta.id, out.newState);
        ops.push(put("groups", meta.id, mls.encodeState(out.newState)));
      } catch {
        status = "unreadable";
      }
      // From another device of this account: ours, already read.
      const mine = status === "received" && sender === this.account!.handle;
      const msg: ChatMessage = {
        key: messageKey(meta.peer, Number(d.serverTimeMs)),
        peer: meta.peer,
        conv: meta.id,
        seq: Number(d.seq),
        mine,
        sender,
        text,
        time: Number(d.serverTimeMs),
        status: mine && status === "received" ? "sent" : status,
        professional,
      };
      ops.push(put("messages", msg.key, msg));
      meta.lastTime = msg.time;
      if (!mine) {
        meta.unread += 1;
        queueMicrotask(() => this.incoming.forEach((fn) => fn(msg)));
      }
      return;
    }
    if (d.kind !== DeliveryKind.COMMIT && d.kind !== DeliveryKind.PROPOSAL) return;
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
        this.note(meta, seq, time, { type: "broken" }, ops);
      } else if (meta.group) {
        // A proposal this device cannot read is dropped: the conversation goes on without it.
        this.note(meta, seq, time, { type: "ignored", what: "proposal" }, ops);
      }
      return;
    }
    if (hs.refused) return this.refuseHandshake(meta, hs.refused, seq, time, ops);
    if (hs.commit) {
      // The group's rules decide who may change it: a commit that breaks them is refused here even
      // if the relay accepted it. The group stays as it was (on its epoch), and the member is told.
      const verdict = await groups.verifyCommit(
        { conversationId: d.conversationId, group: !!meta.group, invitations: (meta.invitations ??= {}), me: this.account!.handle },
        state,
        hs,
        time || this.serverNow(),
      );
      if (verdict.refusal) {
        meta.refused = true;
        this.note(meta, seq, time, { type: "refused", reason: verdict.refusal, who: verdict.who }, ops);
        return;
      }
      for (const nonce of verdict.usedNonces) (meta.invitations[nonce] ??= { invitee: "", inviter: "", professional: false, accompanying: "" }).used = true;
      if (hs.commit.removesMe) {
        meta.left = true;
        if (meta.group) this.note(meta, seq, time, { type: "youLeft" }, ops);
        return;
      }
      if (meta.group) {
        this.describeGroup(meta, hs.newState);
        for (const n of verdict.notices) this.note(meta, seq, time, n, ops);
      }
      delete meta.refusedProposals;  // Proposals do not outlive their epoch.
      this.trackDevices(meta, hs.newState, seq, time, ops);
    }
    this.groups.set(meta.id, hs.newState);
    ops.push(put("groups", meta.id, mls.encodeState(hs.newState)));
  }

  /** A proposal or a commit the rules refused before anything was kept: the member is told. */
  private refuseHandshake(meta: ConvMeta, r: NonNullable<mls.Handshake["refused"]>, seq: number, time: number, ops: Op[]): void {
    const notice = r.who === undefined ? { reason: r.refusal } : { reason: r.refusal, who: r.who };
    if (r.ref !== undefined) {
      // Never kept, so never committed by this device; a commit that names it is refused too.
      const refused = (meta.refusedProposals ??= {});
      if (Object.keys(refused).length < MAX_REFUSED_PROPOSALS) refused[r.ref] = { refusal: r.refusal, who: r.from };
      this.note(meta, seq, time, { type: "proposalRefused", ...notice }, ops);
    } else {
      meta.refused = true;
      this.note(meta, seq, time, { type: "refused", ...notice }, ops);
    }
  }

  // ---- retention ----------------------------------------------------------------------------------

  /** Messages of a group older than this are past its retention (undefined: kept). */
  private cutoff(meta: ConvMeta | undefined): number | undefined {
    const days = meta?.rules?.retentionDays ?? 0;
    return days > 0 ? this.serverNow() - days * DAY_MS : undefined;
  }

  /** Deletes this device's copies of group messages older than their group's retention. */
  async prune(): Promise<void> {
    const ops: Op[] = [];
    for (const meta of this.convs.values()) {
      const cutoff = this.cutoff(meta);
      if (cutoff === undefined) continue;
      for (const m of await this.store.list<ChatMessage>("messages", meta.peer + "\u0000")) {
        if (m.time < cutoff && m.status !== "pending") ops.push(del("messages", m.key));
      }
    }
    if (ops.length === 0) return;
    await this.exclusive(() => this.store.write(ops));
    this.changed();
  }

  // ---- conversations ------------------------------------------------------------------------------

  threads(): Thread[] {
    const byPeer = new Map<string, Thread>();
    for (const c of this.convs.values()) {
      const t = byPeer.get(c.peer) ?? { peer: c.peer, unread: 0, lastTime: 0, ready: false, group: !!c.group, members: [] };
      t.unread += c.unread;
      t.lastTime = Math.max(t.lastTime, c.lastTime, c.createdMs);
      t.ready ||= c.ready;
      if (c.group) t.members = (c.roster ?? []).filter((r) => !r.self).map((r) => r.handle);
      byPeer.set(c.peer, t);
    }
    for (const peer of this.restored) {
      if (!byPeer.has(peer)) byPeer.set(peer, { peer, unread: 0, lastTime: 0, ready: false, group: false, members: [] });
    }
    return [...byPeer.values()].sort((a, b) => b.lastTime - a.lastTime);
  }

  /** A thread's messages and group events; in a group, nothing older than its retention. */
  async messages(peer: string): Promise<ChatMessage[]> {
    const list = await this.store.list<ChatMessage>("messages", peer + "\u0000");
    const cutoff = peer.startsWith("#") ? this.cutoff(this.convs.get(peer.slice(1))) : undefined;
    return list
      .filter((m) => cutoff === undefined || m.time >= cutoff || m.status === "pending")
      .map(({ payload: _p, ...m }) => m as ChatMessage);
  }

  /** A group's members, roles and rules as its MLS state says (undefined: not a group here). */
  groupView(peer: string): GroupView | undefined {
    const meta = peer.startsWith("#") ? this.convs.get(peer.slice(1)) : undefined;
    if (!meta?.group) return undefined;
    return {
      roster: (meta.roster ?? []).map((r) => ({
        ...r,
        devices: meta.devices ? meta.devices.filter((d) => d.handle === r.handle).map((d) => verify.deviceFingerprint(d.key)) : (r.devices ?? []),
        verification: r.self ? undefined : this.verificationWith(meta, r.handle),
        unapproved: meta.unapproved ?? [],
      })),
      rules: meta.rules,
      refused: !!meta.refused,
      broken: !!meta.broken,
      left: !!meta.left,
      invitations: meta.invitations ?? {},
    };
  }

  async markRead(peer: string): Promise<void> {
    const ops: Op[] = [];
    for (const c of this.convs.values()) {
      if (c.peer === peer && c.unread) {
        c.unread = 0;
        ops.push(put("convs", c.id, c));
      }
    }
    if (ops.length) {
      await this.exclusive(() => this.store.write(ops));
      this.changed();
    }
  }

  // ---- devices and safety numbers ------------------------------------------------------------------

  /** The conversation a thread shows: the group's, or the newest direct one with the peer. */
  private convOf(peer: string): ConvMeta | undefined {
    return peer.startsWith("#") ? this.convs.get(peer.slice(1)) : this.activeConv(peer);
  }

  private numberWith(meta: ConvMeta, handle: string): string | undefined {
    const me = this.account!.handle;
    const devices = meta.devices ?? [];
    const theirs = verify.keysOf(devices, handle);
    const mine = verify.keysOf(devices, me);
    if (handle === me || !theirs.length || !mine.length) return undefined;
    return verify.safetyNumber({ handle: me, keys: mine }, { handle, keys: theirs });
  }

  private verificationWith(meta: ConvMeta, handle: string): Verification {
    const number = this.numberWith(meta, handle);
    return number === undefined ? "unverified" : verify.verificationOf(this.verified.get(handle), number);
  }

  /** The people of a thread, each with their devices (from the MLS leaves), this account first. */
  people(peer: string): PersonView[] {
    const meta = this.convOf(peer);
    if (!meta?.devices) return [];
    const me = this.account!.handle;
    const byHandle = new Map<string, PersonView>();
    for (const d of meta.devices) {
      const p = byHandle.get(d.handle) ?? { handle: d.handle, self: d.handle === me, devices: [], unapproved: [] };
      const fingerprint = verify.deviceFingerprint(d.key);
      p.devices.push(fingerprint);
      if (meta.unapproved?.includes(fingerprint)) p.unapproved.push(fingerprint);
      byHandle.set(d.handle, p);
    }
    return [...byHandle.values()]
      .map((p) => (p.self ? p : { ...p, verification: this.verificationWith(meta, p.handle) }))
      .sort((a, b) => Number(b.self) - Number(a.self) || a.handle.localeCompare(b.handle));
  }

  /** The safety number with `handle` in the thread `peer` (undefined: not there, or oneself). */
  safetyNumber(peer: string, handle: string): SafetyView | undefined {
    const meta = this.convOf(peer);
    const number = meta && this.numberWith(meta, handle);
    if (!meta || number === undefined) return undefined;
    const devices = meta.devices ?? [];
    return {
      handle,
      number,
      devices: verify.keysOf(devices, handle).map(verify.deviceFingerprint),
      ownDevices: verify.keysOf(devices, this.account!.handle).map(verify.deviceFingerprint),
      verification: verify.verificationOf(this.verified.get(handle), number),
    };
  }

  /**
   * The user compared `number` with `handle` and found it the same: kept on this device with the
   * devices it stands for. Throws when it is not the current number (the devices changed since).
   */
  async markVerified(peer: string, handle: string, number: string): Promise<void> {
    const meta = this.convOf(peer);
    const current = meta && this.numberWith(meta, handle);
    if (!meta || current === undefined || current !== number) throw new Error("not the current safety number");
    const record: VerifiedRecord = {
      handle,
      number,
      theirKeys: verify.keysOf(meta.devices ?? [], handle),
      ownKeys: verify.keysOf(meta.devices ?? [], this.account!.handle),
      verifiedMs: this.now(),
    };
    await this.store.write([put("kv", `verified/${handle}`, record)]);
    this.verified.set(handle, record);
    this.changed();
  }

  /** The newest conversation with `peer` whose group this device holds. */
  private activeConv(peer: string): ConvMeta | undefined {
    let best: ConvMeta | undefined;
    for (const c of this.convs.values()) {
      if (c.peer === peer && c.ready && !c.left && (!best || c.createdMs > best.createdMs)) best = c;
    }
    return best;
  }

  /** The account's canonical handle, or NOT_FOUND. */
  async lookup(handle: string): Promise<string> {
    const info = await this.requireWire().call({ case: "lookupAccount", value: { handle } }, "account");
    return info.handle;
  }

  /** Opens an encrypted direct conversation with `peer` unless one exists; returns the peer's handle. */
  startConversation(peerInput: string): Promise<string> {
    const key = peerInput.normalize("NFC").toLowerCase();
    let p = this.starting.get(key);
    if (!p) {
      p = this.openConversation(peerInput).finally(() => this.starting.delete(key));
      this.starting.set(key, p);
    }
    return p;
  }

  private async openConversation(peerInput: string): Promise<string> {
    const wire = this.requireWire();
    const fetched = await wire.call({ case: "fetchKeyPackages", value: { handle: peerInput } }, "fetchKeyPackages");
    const peer = fetched.account!.handle;
    if (this.activeConv(peer)) return peer;
    // Only packages that name the account the relay says they belong to.
    const usable = fetched.keyPackages.filter((k) => {
      if (k.data.length === 0) return false;
      try {
        return mls.keyPackageHandle(mls.decodeKeyPackage(k.data)) === peer;
      } catch {
        return false;
      }
    });
    if (usable.length === 0) throw new PeerUnreachable("no key package");
    // Only devices the account's signed chain lists, and a chain that extends what this device saw.
    await devices.checkDevicesToAdd(this.store, fetched.account!, usable.map((k) => leafKeyOf(k)));
    const mine = await this.ownOtherDevices(wire);
    const info = await wire.call(
      { case: "createConversation", value: { kind: ConversationKind.DIRECT, peerHandle: peer } },
      "conversation",
    );
    const id = toHex(info.conversationId);
    const added = [...usable, ...mine];
    const kps = added.map((k) => mls.decodeKeyPackage(k.data));
    const out = await this.exclusive(async () => mls.commitAdd(await mls.newGroup(info.conversationId, this.identity!), kps));
    const res = await wire.call(
      {
        case: "commit",
        value: {
          conversationId: info.conversationId,
          epoch: 0n,
          commit: out.commit,
          addDevices: added.map((k) => k.deviceId),
          welcome: out.welcome,
          genesis: out.genesis,
        },
      },
      "commit",
    );
    const meta: ConvMeta = {
      id,
      peer,
      processed: 0,
      above: [],
      ready: true,
      unread: 0,
      lastTime: Date.now(),
      createdMs: Date.now(),
      devices: verify.devicesOf(out.newState),
    };
    this.markHandled(meta, Number(res.seq));
    await this.exclusive(async () => {
      this.groups.set(id, out.newState);
      this.convs.set(id, meta);
      await this.store.write([put("groups", id, mls.encodeState(out.newState)), put("convs", id, meta)]);
    });
    this.changed();
    void this.flushOutbox();
    return peer;
  }

  /** A key package of each of this account's other devices (they join the conversation too). */
  private async ownOtherDevices(wire: Wire): Promise<FetchedKeyPackage[]> {
    const me = this.account!;
    try {
      const account = await wire.call({ case: "lookupAccount", value: { handle: me.handle } }, "account");
      if (!account.devices.some((d) => d.deviceId !== me.deviceId)) return [];
      const own = await wire.call({ case: "fetchKeyPackages", value: { handle: me.handle } }, "fetchKeyPackages");
      const usable = own.keyPackages.filter((k) => {
        if (k.deviceId === me.deviceId || k.data.length === 0) return false;
        try {
          return mls.keyPackageHandle(mls.decodeKeyPackage(k.data)) === me.handle;
        } catch {
          return false;
        }
      });
      // Own devices too join only as the chain lists them (else none is added).
      await devices.checkDevicesToAdd(this.store, own.account!, usable.map((k) => leafKeyOf(k)));
      return usable;
    } catch {
      return [];  // The conversation still works on this device.
    }
  }

  // ---- sending ------------------------------------------------------------------------------------

  /** Queues a message to `peer`; it is sent now if online, else at the next connection. */
  async sendText(peer: string, text: string): Promise<ChatMessage> {
    const msg: ChatMessage = {
      key: messageKey(peer, Date.now()),
      peer,
      conv: "",
      seq: 0,
      mine: true,
      sender: this.account!.handle,
      text,
      time: Date.now(),
      status: "pending",
      professional: this.professional,
    };
    await this.store.write([put("messages", msg.key, msg)]);
    this.changed();
    void this.flushOutbox();
    return msg;
  }

  /** Sends every pending message, oldest first. */
  async flushOutbox(): Promise<void> {
    if (this.flushing) {
      this.flushAgain = true;
      return;
    }
    this.flushing = true;
    try {
      do {
        this.flushAgain = false;
        const pending = (await this.store.list<ChatMessage>("messages")).filter((m) => m.mine && m.status === "pending");
        pending.sort((a, b) => a.time - b.time);
        for (const msg of pending) {
          if (!this.wire || this.wire.isClosed) return;
          await this.sendOne(msg);
        }
      } while (this.flushAgain);
    } catch {
      // Stays pending: retried at the next connection, or soon if still online (the peer may have
      // no key package yet, or the relay asked to slow down).
      if (this.wire && !this.wire.isClosed && !this.retryTimer) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          void this.flushOutbox();
        }, 3000);
      }
    } finally {
      this.flushing = false;
    }
  }

  private async sendOne(msg: ChatMessage): Promise<void> {
    const wire = this.requireWire();
    let meta = this.activeConv(msg.peer);
    if (!meta && msg.peer.startsWith("#")) {
      // A group this device is no longer in (or cannot read): nobody is started for it.
      await this.markFailed(msg);
      return;
    }
    if (!meta) {
      try {
        await this.startConversation(msg.peer);
      } catch (e) {
        if (e instanceof RelayError && e.code === ErrorCode.NOT_FOUND) {
          await this.markFailed(msg);
          return;
        }
        throw e;
      }
      meta = this.activeConv(msg.peer)!;
    }
    const convId = fromHex(meta.id);
    // An earlier attempt whose answer was lost may have reached the relay: look before sending again.
    if (msg.payload && msg.conv === meta.id && (await this.confirmFromLog(wire, meta, msg))) return;
    for (let attempt = 0; attempt < 5; attempt++) {
      const state = await this.group(meta.id);
      if (!msg.payload || msg.conv !== meta.id || msg.epoch !== Number(mls.epochOf(state))) {
        await this.exclusive(async () => {
          const out = await mls.encrypt(await this.group(meta!.id), utf8(msg.text));
          this.groups.set(meta!.id, out.newState);
          msg.payload = out.message;
          msg.conv = meta!.id;
          msg.epoch = Number(mls.epochOf(out.newState));
          await this.store.write([put("groups", meta!.id, mls.encodeState(out.newState)), put("messages", msg.key, msg)]);
        });
      }
      try {
        const res = await wire.call(
          { case: "send", value: { conversationId: convId, epoch: BigInt(msg.epoch!), payload: msg.payload! } },
          "send",
        );
        await this.confirmSent(wire, meta, msg, Number(res.seq), Number(res.serverTimeMs));
        return;
      } catch (e) {
        if (e instanceof RelayError && e.code === ErrorCode.STALE_EPOCH) {
          await this.waitForEpoch(meta.id, Number(e.currentEpoch), 10_000);
          continue;
        }
        if (e instanceof RelayError) {
          await this.markFailed(msg);
          return;
        }
        throw e;
      }
    }
    // The relay's group went to an epoch this device refused (or cannot read): it will not catch up.
    if (meta.refused || meta.broken) await this.markFailed(msg);
  }

  private async markFailed(msg: ChatMessage): Promise<void> {
    msg.status = "failed";
    delete msg.payload;
    await this.store.write([put("messages", msg.key, msg)]);
    this.changed();
  }

  private async confirmSent(wire: Wire, meta: ConvMeta, msg: ChatMessage, seq: number, time: number): Promise<void> {
    this.sawServerTime(time);
    await this.exclusive(async () => {
      msg.seq = seq;
      msg.status = "sent";
      msg.time = time || msg.time;
      delete msg.payload;
      meta.lastTime = msg.time;
      this.markHandled(meta, seq);
      await this.store.write([put("messages", msg.key, msg), put("convs", meta.id, meta)]);
      wire.fire({ case: "ack", value: { conversationId: fromHex(meta.id), seq: BigInt(meta.processed) } });
    });
    this.changed();
  }

  private async confirmFromLog(wire: Wire, meta: ConvMeta, msg: ChatMessage): Promise<boolean> {
    let after = BigInt(Math.max(0, meta.processed - 1));
    for (let page = 0; page < 20; page++) {
      const log = await wire.call(
        { case: "fetchLog", value: { conversationId: fromHex(meta.id), afterSeq: after, limit: 100 } },
        "log",
      );
      for (const e of log.entries) {
        if (e.senderDevice === this.account!.deviceId && equalBytes(e.payload, msg.payload!)) {
          await this.confirmSent(wire, meta, msg, Number(e.seq), Number(e.serverTimeMs));
          return true;
        }
      }
      if (log.entries.length === 0) return false;
      after = log.entries[log.entries.length - 1].seq;
    }
    return false;
  }

  private async waitForEpoch(id: string, epoch: number, timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const g = await this.group(id);
      if (Number(mls.epochOf(g)) >= epoch) return;
      await sleep(100);
    }
  }

  // ---- contact links ------------------------------------------------------------------------------

  createContactLink(label: string, expiresInHours: number): Promise<ContactLinkInfo> {
    return this.requireWire().call({ case: "createContactLink", value: { label, expiresInHours } }, "contactLink");
  }

  async listContactLinks(): Promise<ContactLinkInfo[]> {
    return (await this.requireWire().call({ case: "listContactLinks", value: {} }, "contactLinks")).links;
  }

  async revokeContactLink(token: string): Promise<void> {
    await this.requireWire().call({ case: "revokeContactLink", value: { token } }, "done");
  }

  // ---- devices of this account (pairing) --------------------------------------------------------

  /** This account's devices as its chain lists them (empty for an account made before the chain). */
  async ownDevices(): Promise<{ fingerprint: string; self: boolean; addedMs: number }[]> {
    const me = this.account!;
    const wire = this.requireWire();
    const info = await wire.call({ case: "lookupAccount", value: { handle: me.handle } }, "account");
    const view = await devices.checkChain(this.store, info);
    if (!view) return [];
    await devices.writePin(this.store, info.handle, view);
    return view.devices.map((d) => {
      const link = info.chain[Number(d.addedSeq)];
      return { fingerprint: verify.deviceFingerprint(d.mlsKey), self: equalBytes(d.deviceKey, me.device.publicKey), addedMs: Number(link.timeMs) };
    });
  }

  /** New devices waiting to join this account. */
  async deviceRequests(): Promise<DeviceRequestInfo[]> {
    return (await this.requireWire().call({ case: "listDeviceRequests", value: {} }, "deviceRequests")).requests;
  }

  /** Starts approving a new device: exchanges nonces; the person then types the code it shows. */
  startApproval(request: DeviceRequestInfo, signal?: AbortSignal): Promise<Approval> {
    return devices.startApproval(this.requireWire(), request, signal);
  }

  /**
   * Adds the new device if `typed` is the code it shows (a signed link in the account's chain);
   * otherwise throws WrongPairingCode and adds nothing (after three wrong codes, never).
   */
  async finishApproval(approval: Approval, typed: string): Promise<bigint> {
    if (approval.tries <= 0) throw new devices.WrongPairingCode(0);
    if (!devices.sameCode(typed, approval.code)) {
      approval.tries--;
      throw new devices.WrongPairingCode(approval.tries);
    }
    approval.tries = 0;  // One approval per exchange.
    const r = approval.request;
    const me = this.account!;
    return devices.addLinkedDevice(this.requireWire(), this.store, me.handle, me.device, { deviceKey: r.devicePublicKey, mlsKey: r.mlsKey, possession: r.possession });
  }

  /** This device's account record, once the relay said who it is (`auth`) and its device id. */
  private newAccount(auth: AuthResult, deviceId: bigint, device: KeyHandle, mlsKey: KeyHandle, role: Role): Account {
    return {
      handle: auth.handle,
      accountId: auth.accountId,
      deviceId,
      instanceId: this.hello!.instanceId,
      device,
      mlsKey,
      mlsKeyId: fromHex(randomHex(16)),
      role,
      createdMs: Date.now(),
      type: auth.type,
    };
  }

  /**
   * On a browser without an account: asks to become a device of `handle`, shows the code through
   * `steps.onCode`, and once a device of the account approved it, signs in as that new device.
   */
  async joinAccount(handle: string, steps: PairingSteps): Promise<void> {
    await this.connectAnonymous();
    const anon = this.anon!;
    const joined = await devices.requestToJoin(anon.wire, handle, steps);
    let challenge = this.hello!.challenge;
    if (!anon.fresh) challenge = (await anon.wire.call({ case: "getChallenge", value: {} }, "challenge")).challenge;
    anon.fresh = false;
    const { device, mlsKey } = joined.keys;
    const signature = await sign(device, authTranscript(this.hello!.instanceId, challenge));
    const auth = await anon.wire.call({ case: "authenticate", value: { devicePublicKey: device.publicKey, signature } }, "auth");
    // The chain must list this device as it asked (first contact with the own chain: pinned here).
    const own = await devices.ownChain(anon.wire, this.store, auth.handle);
    if (own.view && !devices.listed(own.view, device.publicKey, mlsKey.publicKey)) throw new devices.DeviceChainRefused(auth.handle, "notInChain");
    if (own.view) await devices.writePin(this.store, own.handle, own.view);
    const account = this.newAccount(auth, auth.deviceId, device, mlsKey, "helper");
    await this.store.write([put("kv", "account", account)]);
    this.useAccount(account);
    this.anon = undefined;
    this.startLoop(anon.wire);
  }

  // ---- backup -------------------------------------------------------------------------------------

  /**
   * Makes a backup file's text. This device's keys cannot leave the browser, so the backup holds a
   * new key registered as another device of the account, and the messages' text; a browser that
   * restores it becomes a device of the same account and opens new conversations with the peers.
   */
  async exportBackup(passphrase: string): Promise<string> {
    const wire = this.requireWire();
    const me = this.account!;
    const key = await generateKey(true);
    // The backup key is a device of the chain (its MLS key is itself), added by this device.
    const possession = await devices.signPossession(me.handle, key.publicKey, key.publicKey, key);
    const deviceId = await devices.addLinkedDevice(wire, this.store, me.handle, me.device, { deviceKey: key.publicKey, mlsKey: key.publicKey, possession });
    // Direct conversations only: a group's messages stay in the group (its retention rules apply to
    // every copy, and a restored device is not in the group until a facilitator adds it).
    const messages = (await this.store.list<ChatMessage>("messages"))
      .filter((m) => m.status !== "unreadable" && !m.event && !m.peer.startsWith("#"))
      .map((m) => ({ peer: m.peer, mine: m.mine, sender: m.sender, text: m.text, time: m.time, sent: m.status !== "pending" && m.status !== "failed" }));
    const payload: BackupPayload = {
      handle: me.handle,
      role: me.role,
      instanceId: toHex(me.instanceId),
      deviceId: String(deviceId),
      publicKey: toHex(key.publicKey),
      privateKey: toHex(await exportPkcs8(key)),
      messages,
    };
    return sealBackup(payload, passphrase);
  }

  /**
   * Restores an account from a backup file on this (empty) device: signs in with the backup's key,
   * registers a new non-extractable device key, keeps the messages, then reopens the conversations.
   */
  async importBackup(text: string, passphrase: string): Promise<void> {
    const payload = await openBackup<BackupPayload>(text, passphrase);
    await this.connectAnonymous();
    const anon = this.anon!;
    if (toHex(this.hello!.instanceId) !== payload.instanceId) throw new OtherInstance("another instance");
    let challenge = this.hello!.challenge;
    if (!anon.fresh) challenge = (await anon.wire.call({ case: "getChallenge", value: {} }, "challenge")).challenge;
    anon.fresh = false;
    const backupKey = await importPkcs8(fromHex(payload.privateKey), fromHex(payload.publicKey));
    const signature = await sign(backupKey, authTranscript(this.hello!.instanceId, challenge));
    const auth = await anon.wire.call({ case: "authenticate", value: { devicePublicKey: backupKey.publicKey, signature } }, "auth");
    const device = await generateKey();
    const mlsKey = await generateKey();
    // The backup key adds this browser's new device to the chain.
    const possession = await devices.signPossession(auth.handle, device.publicKey, mlsKey.publicKey, device);
    const deviceId = await devices.addLinkedDevice(anon.wire, this.store, auth.handle, backupKey, { deviceKey: device.publicKey, mlsKey: mlsKey.publicKey, possession });
    anon.wire.close();
    this.anon = undefined;
    const account = this.newAccount(auth, deviceId, device, mlsKey, payload.role);
    const peers = [...new Set(payload.messages.map((m) => m.peer))];
    const ops: Op[] = [put("kv", "account", account), put("kv", "restoredPeers", peers)];
    for (const m of payload.messages) {
      const msg: ChatMessage = {
        key: messageKey(m.peer, m.time),
        peer: m.peer,
        conv: "",
        seq: 0,
        mine: m.mine,
        sender: m.sender,
        text: m.text,
        time: m.time,
        status: m.mine ? (m.sent ? "sent" : "failed") : "received",
      };
      ops.push(put("messages", msg.key, msg));
    }
    await this.store.write(ops);
    this.useAccount(account);
    this.restoredPeers = [...peers];
    for (const p of peers) this.restored.add(p);
    this.start();
  }

  /** Forgets everything stored on this device. */
  async forget(): Promise<void> {
    this.stop();
    await this.store.clear();
    this.account = undefined;
    this.convs.clear();
    this.groups.clear();
  }
}

/** The leaf signature key of a fetched key package (decodable: callers filtered it). */
function leafKeyOf(k: FetchedKeyPackage): Uint8Array {
  return mls.decodeKeyPackage(k.data).leafNode.signaturePublicKey;
}

let counter = 0;
function messageKey(peer: string, time: number): string {
  counter = (counter + 1) % 1_000_000;
  return `${peer}\u0000${String(time).padStart(15, "0")}:${String(counter).padStart(6, "0")}:${randomHex(4)}`;
}
