// Conversations as the page lists them (threads, messages, a group's view, unread counts, the
// retention of a group's copies), opening a direct conversation (only with devices the peer's signed
// chain lists; this account's other devices join too), and contact links. Part of the Messenger
// (messenger.ts); single-threaded.
import { toHex } from "./bytes";
import type { Context } from "./context";
import * as devices from "./devices";
import * as mls from "./mls";
import { PeerUnreachable, type ChatMessage, type ConvMeta, type GroupView, type Thread } from "./model";
import { verificationWith } from "./people";
import { ConversationKind, type AccountInfo, type ContactLinkInfo, type FetchedKeyPackage, type FetchKeyPackagesResult } from "./proto";
import { del, put, type Op } from "./store";
import * as verify from "./verify";
import { markHandled } from "./watermark";
import type { Wire } from "./wire";

export class Conversations {
  private readonly starting = new Map<string, Promise<string>>();

  constructor(
    private readonly ctx: Context,
    /** Sends what waits in the outbox (outbox.ts). */
    private readonly flushOutbox: () => Promise<void>,
  ) {}

  threads(): Thread[] {
    const byPeer = new Map<string, Thread>();
    const hidden = this.hiddenPeers();
    for (const c of this.ctx.convs.values()) {
      if (hidden.has(c.peer)) continue;
      const t = byPeer.get(c.peer) ?? { peer: c.peer, unread: 0, lastTime: 0, ready: false, group: !!c.group, members: [] };
      t.unread += c.unread;
      t.lastTime = Math.max(t.lastTime, c.lastTime, c.createdMs);
      t.ready ||= c.ready;
      if (c.group) t.members = (c.roster ?? []).filter((r) => !r.self).map((r) => r.handle);
      if (c.group && c.profile) t.name = c.profile.name;
      byPeer.set(c.peer, t);
    }
    for (const peer of this.ctx.restored) {
      if (!byPeer.has(peer)) byPeer.set(peer, { peer, unread: 0, lastTime: 0, ready: false, group: false, members: [] });
    }
    return [...byPeer.values()].sort((a, b) => b.lastTime - a.lastTime);
  }

  /** Threads erased from this device where nothing newer came since (every conversation of it erased). */
  private hiddenPeers(): Set<string> {
    const shown = new Set<string>();
    const erased = new Set<string>();
    for (const c of this.ctx.convs.values()) {
      if (c.hiddenAt !== undefined && c.lastTime <= c.hiddenAt && !c.unread) erased.add(c.peer);
      else shown.add(c.peer);
    }
    return new Set([...erased].filter((p) => !shown.has(p)));
  }

  /**
   * Erases a thread from this device only: its messages (those not sent yet too) leave the store and
   * the thread leaves the list. This device stays in the conversation, so that a new message still
   * arrives (and brings the thread back); the other people keep their copies.
   */
  async erase(peer: string): Promise<void> {
    await this.ctx.exclusive(async () => {
      const ops: Op[] = (await this.ctx.store.list<ChatMessage>("messages", peer + "\u0000")).map((m) => del("messages", m.key));
      for (const c of this.ctx.convs.values()) {
        if (c.peer !== peer) continue;
        c.unread = 0;
        c.lastTime = Math.max(c.lastTime, c.createdMs);
        c.hiddenAt = c.lastTime;
        ops.push(put("convs", c.id, c));
      }
      if (this.ctx.restored.delete(peer)) ops.push(put("kv", "restoredPeers", [...this.ctx.restored]));
      await this.ctx.store.write(ops);
    });
    this.ctx.changed();
  }

  /** A thread's messages and group events; in a group, nothing older than its retention. */
  async messages(peer: string): Promise<ChatMessage[]> {
    const list = await this.ctx.store.list<ChatMessage>("messages", peer + "\u0000");
    const cutoff = peer.startsWith("#") ? this.ctx.cutoff(this.ctx.convs.get(peer.slice(1))) : undefined;
    return list
      .filter((m) => cutoff === undefined || m.time >= cutoff || m.status === "pending")
      .map(({ payload: _p, ...m }) => m as ChatMessage);
  }

  /** A group's members, roles and rules as its MLS state says (undefined: not a group here). */
  groupView(peer: string): GroupView | undefined {
    const meta = peer.startsWith("#") ? this.ctx.convs.get(peer.slice(1)) : undefined;
    if (!meta?.group) return undefined;
    return {
      roster: (meta.roster ?? []).map((r) => ({
        ...r,
        devices: meta.devices ? meta.devices.filter((d) => d.handle === r.handle).map((d) => verify.deviceFingerprint(d.key)) : (r.devices ?? []),
        verification: r.self ? undefined : verificationWith(this.ctx, meta, r.handle),
        unapproved: meta.unapproved ?? [],
      })),
      rules: meta.rules,
      refused: !!meta.refused,
      broken: !!meta.broken,
      left: !!meta.left,
      leaving: !!meta.leaving && !meta.left,
      invitations: meta.invitations ?? {},
      name: meta.profile?.name,
      description: meta.profile?.description,
      joinRequests: meta.joinRequests ?? [],
    };
  }

  async markRead(peer: string): Promise<void> {
    const ops: Op[] = [];
    for (const c of this.ctx.convs.values()) {
      if (c.peer === peer && c.unread) {
        c.unread = 0;
        ops.push(put("convs", c.id, c));
      }
    }
    if (ops.length) {
      await this.ctx.exclusive(() => this.ctx.store.write(ops));
      this.ctx.changed();
    }
  }

  /** Deletes this device's copies of group messages older than their group's retention. */
  async prune(): Promise<void> {
    const ops: Op[] = [];
    for (const meta of this.ctx.convs.values()) {
      const cutoff = this.ctx.cutoff(meta);
      if (cutoff === undefined) continue;
      for (const m of await this.ctx.store.list<ChatMessage>("messages", meta.peer + "\u0000")) {
        if (m.time < cutoff && m.status !== "pending") ops.push(del("messages", m.key));
      }
    }
    if (ops.length === 0) return;
    await this.ctx.exclusive(() => this.ctx.store.write(ops));
    this.ctx.changed();
  }

  // ---- opening a direct conversation --------------------------------------------------------------

  /** The account's canonical handle, or NOT_FOUND. */
  async lookup(handle: string): Promise<string> {
    const info = await this.ctx.requireWire().call({ case: "lookupAccount", value: { handle } }, "account");
    return info.handle;
  }

  /** Opens an encrypted direct conversation with `peer` unless one exists; returns the peer's handle. */
  start(peerInput: string): Promise<string> {
    const key = peerInput.normalize("NFC").toLowerCase();
    let p = this.starting.get(key);
    if (!p) {
      p = this.open(peerInput).finally(() => this.starting.delete(key));
      this.starting.set(key, p);
    }
    return p;
  }

  private async open(peerInput: string): Promise<string> {
    const wire = this.ctx.requireWire();
    // This account's devices are asked for in the same round trip as the peer's packages.
    const ownAccount = wire.call({ case: "lookupAccount", value: { handle: this.ctx.account!.handle } }, "account").catch(() => undefined);
    const fetched = await wire.call({ case: "fetchKeyPackages", value: { handle: peerInput } }, "fetchKeyPackages");
    const peer = fetched.account!.handle;
    if (this.ctx.activeConv(peer)) return peer;
    const usable = usablePackages(fetched, peer);
    if (usable.length === 0) throw new PeerUnreachable("no key package");
    // Only devices the account's signed chain lists, and a chain that extends what this device saw.
    await devices.checkDevicesToAdd(this.ctx.store, fetched.account!, usable.map(leafKeyOf));
    const mine = await this.ownOtherDevices(wire, await ownAccount);
    const info = await wire.call({ case: "createConversation", value: { kind: ConversationKind.DIRECT, peerHandle: peer } }, "conversation");
    await this.create(wire, info.conversationId, peer, [...usable, ...mine]);
    this.ctx.changed();
    void this.flushOutbox();
    return peer;
  }

  /** Creates the conversation's group adding `added` (the first commit, with the group's start) and keeps it. */
  private async create(wire: Wire, conversationId: Uint8Array, peer: string, added: FetchedKeyPackage[]): Promise<void> {
    const id = toHex(conversationId);
    const kps = added.map((k) => mls.decodeKeyPackage(k.data));
    const out = await this.ctx.exclusive(async () => mls.commitAdd(await mls.newGroup(conversationId, this.ctx.identity!), kps));
    const value = { conversationId, epoch: 0n, commit: out.commit, addDevices: added.map((k) => k.deviceId), welcome: out.welcome, genesis: out.genesis };
    const res = await wire.call({ case: "commit", value }, "commit");
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
    markHandled(meta, Number(res.seq));
    await this.ctx.exclusive(async () => {
      this.ctx.groups.set(id, out.newState);
      this.ctx.convs.set(id, meta);
      await this.ctx.store.write([put("groups", id, mls.encodeState(out.newState)), put("convs", id, meta)]);
    });
  }

  /** A key package of each of this account's other devices (they join the conversation too). */
  private async ownOtherDevices(wire: Wire, account: AccountInfo | undefined): Promise<FetchedKeyPackage[]> {
    const me = this.ctx.account!;
    try {
      if (!account?.devices.some((d) => d.deviceId !== me.deviceId)) return [];
      const own = await wire.call({ case: "fetchKeyPackages", value: { handle: me.handle } }, "fetchKeyPackages");
      const usable = usablePackages(own, me.handle).filter((k) => k.deviceId !== me.deviceId);
      // Own devices too join only as the chain lists them (else none is added).
      await devices.checkDevicesToAdd(this.ctx.store, own.account!, usable.map(leafKeyOf));
      return usable;
    } catch {
      return [];  // The conversation still works on this device.
    }
  }

  // ---- contact links ------------------------------------------------------------------------------

  createContactLink(label: string, expiresInHours: number): Promise<ContactLinkInfo> {
    return this.ctx.requireWire().call({ case: "createContactLink", value: { label, expiresInHours } }, "contactLink");
  }

  async listContactLinks(): Promise<ContactLinkInfo[]> {
    return (await this.ctx.requireWire().call({ case: "listContactLinks", value: {} }, "contactLinks")).links;
  }

  async revokeContactLink(token: string): Promise<void> {
    await this.ctx.requireWire().call({ case: "revokeContactLink", value: { token } }, "done");
  }
}

/** Only packages that name the account the relay says they belong to (and can be read). */
function usablePackages(fetched: FetchKeyPackagesResult, handle: string): FetchedKeyPackage[] {
  return fetched.keyPackages.filter((k) => {
    if (k.data.length === 0) return false;
    try {
      return mls.keyPackageHandle(mls.decodeKeyPackage(k.data)) === handle;
    } catch {
      return false;
    }
  });
}

/** The leaf signature key of a fetched key package (decodable: callers filtered it). */
function leafKeyOf(k: FetchedKeyPackage): Uint8Array {
  return mls.decodeKeyPackage(k.data).leafNode.signaturePublicKey;
}
