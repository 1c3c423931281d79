// This device's account: registration, joining an account as a new device (pairing, both sides),
// the account's devices as its signed chain lists them, backups (export and restore), and the key
// packages kept stocked on the relay. Part of the Messenger (messenger.ts); single-threaded.
import { equalBytes, fromHex, randomHex, toHex } from "./bytes";
import type { Connection } from "./connection";
import type { Context } from "./context";
import * as devices from "./devices";
import type { Approval, PairingSteps } from "./devices";
import { openBackup, sealBackup } from "./backup";
import * as mls from "./mls";
import { messageKey, OtherInstance, type Account, type ChatMessage, type Role } from "./model";
import { authTranscript, type AuthResult, type DeviceRequestInfo } from "./proto";
import { exportPkcs8, generateKey, importPkcs8, sign, type KeyHandle } from "./signer";
import { put, type Op } from "./store";
import * as verify from "./verify";
import type { Wire } from "./wire";

interface BackupPayload {
  handle: string;
  role: Role;
  instanceId: string;
  deviceId: string;
  publicKey: string;
  privateKey: string;
  messages: { peer: string; mine: boolean; sender: string; text: string; time: number; sent: boolean }[];
}

export class AccountSide {
  constructor(
    private readonly ctx: Context,
    private readonly conn: Connection,
    /** Key packages kept on the relay (a last-resort one is added); default by role. */
    private readonly stock: number | undefined,
  ) {}

  /**
   * Creates the account and this device, then starts the connection loop. With contactToken, the
   * account is a visitor's and the conversation with the link's owner is opened.
   */
  async register(handle: string, opts: { code?: string; contactToken?: string; role?: Role }): Promise<void> {
    await this.conn.connectAnonymous();
    const challenge = await this.conn.challenge();
    const device = await generateKey();
    const mlsKey = await generateKey();
    // The account's device chain starts here: this device adds itself, under the handle as the
    // relay will store it (NFC).
    const first = await devices.firstLink(handle.normalize("NFC"), device, mlsKey.publicKey);
    const signature = await sign(device, authTranscript(this.ctx.hello!.instanceId, challenge));
    const auth = await this.conn.anonymous().call(
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
    await devices.writePin(this.ctx.store, auth.handle, first.view);
    await this.keep(this.newAccount(auth, auth.deviceId, device, mlsKey, opts.role ?? (opts.contactToken ? "visitor" : "helper")));
    this.conn.adoptAnonymous();
  }

  /** This device's account record, once the relay said who it is (`auth`) and its device id. */
  private newAccount(auth: AuthResult, deviceId: bigint, device: KeyHandle, mlsKey: KeyHandle, role: Role): Account {
    return {
      handle: auth.handle,
      accountId: auth.accountId,
      deviceId,
      instanceId: this.ctx.hello!.instanceId,
      device,
      mlsKey,
      mlsKeyId: fromHex(randomHex(16)),
      role,
      createdMs: Date.now(),
      type: auth.type,
      reportKey: crypto.getRandomValues(new Uint8Array(32)),
    };
  }

  private async keep(account: Account, more: Op[] = []): Promise<void> {
    await this.ctx.store.write([put("kv", "account", account), ...more]);
    this.ctx.useAccount(account);
  }

  // ---- devices of this account (pairing) --------------------------------------------------------

  /**
   * On a browser without an account: asks to become a device of `handle`, shows the code through
   * `steps.onCode`, and once a device of the account approved it, signs in as that new device.
   */
  async joinAccount(handle: string, steps: PairingSteps): Promise<void> {
    await this.conn.connectAnonymous();
    const wire = this.conn.anonymous();
    const joined = await devices.requestToJoin(wire, handle, steps);
    const { device, mlsKey } = joined.keys;
    const auth = await this.conn.signInAnonymous(device);
    // The chain must list this device as it asked (first contact with the own chain: pinned here).
    const own = await devices.ownChain(wire, this.ctx.store, auth.handle);
    if (!devices.listed(own.view, device.publicKey, mlsKey.publicKey)) throw new devices.DeviceChainRefused(auth.handle, "notInChain");
    await devices.writePin(this.ctx.store, own.handle, own.view);
    await this.keep(this.newAccount(auth, auth.deviceId, device, mlsKey, "helper"));
    this.conn.adoptAnonymous();
  }

  /** This account's devices as its chain lists them. */
  async ownDevices(): Promise<{ fingerprint: string; self: boolean; addedMs: number }[]> {
    const me = this.ctx.account!;
    const wire = this.ctx.requireWire();
    const info = await wire.call({ case: "lookupAccount", value: { handle: me.handle } }, "account");
    const view = await devices.checkChain(this.ctx.store, info);
    await devices.writePin(this.ctx.store, info.handle, view);
    return view.devices.map((d) => {
      const link = info.chain[Number(d.addedSeq)];
      return { fingerprint: verify.deviceFingerprint(d.mlsKey), self: equalBytes(d.deviceKey, me.device.publicKey), addedMs: Number(link.timeMs) };
    });
  }

  /** New devices waiting to join this account. */
  async deviceRequests(): Promise<DeviceRequestInfo[]> {
    return (await this.ctx.requireWire().call({ case: "listDeviceRequests", value: {} }, "deviceRequests")).requests;
  }

  /** Starts approving a new device: exchanges nonces; the person then types the code it shows. */
  startApproval(request: DeviceRequestInfo, signal?: AbortSignal): Promise<Approval> {
    return devices.startApproval(this.ctx.requireWire(), request, signal);
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
    const me = this.ctx.account!;
    const added = { deviceKey: r.devicePublicKey, mlsKey: r.mlsKey, possession: r.possession };
    return devices.addLinkedDevice(this.ctx.requireWire(), this.ctx.store, me.handle, me.device, added);
  }

  // ---- key packages -------------------------------------------------------------------------------

  async refillKeyPackages(wire: Wire): Promise<void> {
    const target = this.stock ?? (this.ctx.account!.role === "helper" ? 10 : 2);
    const identity = this.ctx.identity!;
    const count = await wire.call({ case: "countKeyPackages", value: {} }, "countKeyPackages");
    const fresh: mls.StoredKeyPackage[] = [];
    for (let i = count.stored; i < target; i++) fresh.push(await mls.newKeyPackage(identity));
    if (!count.hasLastResort) fresh.push(await mls.newKeyPackage(identity, true));
    if (fresh.length === 0) return;
    // Private parts first: a package the relay hands out must be usable.
    await this.ctx.store.write(fresh.map((k) => put("keypackages", k.ref, k)));
    await wire.call(
      { case: "uploadKeyPackages", value: { keyPackages: fresh.map((k) => ({ data: k.encoded, lastResort: k.lastResort })) } },
      "uploadKeyPackages",
    );
  }

  // ---- backup -------------------------------------------------------------------------------------

  /**
   * Makes a backup file's text. This device's keys cannot leave the browser, so the backup holds a
   * new key registered as another device of the account, and the messages' text; a browser that
   * restores it becomes a device of the same account and opens new conversations with the peers.
   */
  async exportBackup(passphrase: string): Promise<string> {
    const wire = this.ctx.requireWire();
    const me = this.ctx.account!;
    const key = await generateKey(true);
    // The backup key is a device of the chain (its MLS key is itself), added by this device.
    const possession = await devices.signPossession(me.handle, key.publicKey, key.publicKey, key);
    const added = { deviceKey: key.publicKey, mlsKey: key.publicKey, possession };
    const deviceId = await devices.addLinkedDevice(wire, this.ctx.store, me.handle, me.device, added);
    // Direct conversations only: a group's messages stay in the group (its retention rules apply to
    // every copy, and a restored device is not in the group until a facilitator adds it).
    const messages = (await this.ctx.store.list<ChatMessage>("messages"))
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
   * registers a new non-extractable device key, keeps the messages, then reopens the conversations
   * (the caller starts the connection loop).
   */
  async importBackup(text: string, passphrase: string): Promise<void> {
    const payload = await openBackup<BackupPayload>(text, passphrase);
    await this.conn.connectAnonymous();
    if (toHex(this.ctx.hello!.instanceId) !== payload.instanceId) throw new OtherInstance("another instance");
    const backupKey = await importPkcs8(fromHex(payload.privateKey), fromHex(payload.publicKey));
    const auth = await this.conn.signInAnonymous(backupKey);
    const device = await generateKey();
    const mlsKey = await generateKey();
    // The backup key adds this browser's new device to the chain.
    const possession = await devices.signPossession(auth.handle, device.publicKey, mlsKey.publicKey, device);
    const added = { deviceKey: device.publicKey, mlsKey: mlsKey.publicKey, possession };
    const deviceId = await devices.addLinkedDevice(this.conn.anonymous(), this.ctx.store, auth.handle, backupKey, added);
    this.conn.closeAnonymous();
    const peers = [...new Set(payload.messages.map((m) => m.peer))];
    const ops: Op[] = [put("kv", "restoredPeers", peers), ...payload.messages.map(restoredMessage)];
    await this.keep(this.newAccount(auth, deviceId, device, mlsKey, payload.role), ops);
    this.ctx.restoredPeers = [...peers];
    for (const p of peers) this.ctx.restored.add(p);
  }
}

/** A backup's message as this device stores it (in no conversation yet). */
function restoredMessage(m: BackupPayload["messages"][number]): Op {
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
  return put("messages", msg.key, msg);
}
