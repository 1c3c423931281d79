// Who is in a conversation, from its MLS state: the members, roles and rules the page shows of a
// group, and the devices its leaves show, with each new device of someone already there announced
// and checked against its owner's signed chain (one the chain does not list is marked
// "unconfirmed"). Part of the Messenger (messenger.ts); single-threaded.
import type { Context } from "./context";
import { findDevice } from "./device-chain";
import * as devices from "./devices";
import * as groups from "./groups";
import type * as mls from "./mls";
import type { ConvMeta } from "./model";
import { put, type Op } from "./store";
import * as verify from "./verify";
import type { Wire } from "./wire";

/** A device announced in a conversation, to check against its owner's chain. */
interface DeviceCheck {
  id: string;
  handle: string;
  key: Uint8Array;
  seq: number;
  time: number;
}

export class Roster {
  /** New devices announced in this batch, to check against their owners' chains afterwards. */
  private readonly checks: DeviceCheck[] = [];

  constructor(private readonly ctx: Context) {}

  /** Keeps what the page shows of a group (members, roles, rules) in step with its MLS state. */
  describe(meta: ConvMeta, state: mls.GroupStateHandle): void {
    const { roster, rules } = groups.describe(state, this.ctx.account!.handle);
    meta.roster = roster;
    meta.rules = rules;
    // A peer who asked to join and is now in the group no longer waits.
    if (meta.joinRequests) meta.joinRequests = meta.joinRequests.filter((h) => !roster.some((r) => r.handle === h));
  }

  /**
   * Announces each new device of someone already in the conversation (said to screen readers too),
   * and remembers the devices the group's leaves show now.
   */
  track(meta: ConvMeta, state: mls.GroupStateHandle, seq: number, time: number, ops: Op[]): void {
    const me = this.ctx.account!.handle;
    const after = verify.devicesOf(state);
    for (const d of verify.newDevices(meta.devices, after)) {
      const self = d.handle === me;
      const fingerprint = verify.deviceFingerprint(d.key);
      const notice = { type: "newDevice", who: d.handle, fingerprint, self, verifyAgain: !self && this.ctx.verified.has(d.handle) } as const;
      this.ctx.note(meta, seq, time, notice, ops);
      this.checks.push({ id: meta.id, handle: d.handle, key: d.key, seq, time });
    }
    meta.devices = after;
  }

  /** Whether devices were announced since the last check. */
  get unchecked(): boolean {
    return this.checks.length > 0;
  }

  /**
   * Checks each device announced since the last call against its owner's signed chain (read from
   * the relay, checked against this device's pin); one the chain does not list, or whose owner's
   * chain is refused, is marked in the roster and announced as unconfirmed. Without a connection
   * nothing is said.
   */
  async checkNewDevices(wire: Wire): Promise<void> {
    const checks = this.checks.splice(0);
    const outside = new Set<DeviceCheck>();
    for (const handle of new Set(checks.map((c) => c.handle))) {
      const mine = checks.filter((c) => c.handle === handle);
      try {
        const info = await wire.call({ case: "lookupAccount", value: { handle } }, "account");
        const view = await devices.checkChain(this.ctx.store, info);
        await devices.writePin(this.ctx.store, info.handle, view);
        for (const c of mine) if (!findDevice(view, c.key, true)) outside.add(c);
      } catch (e) {
        if (e instanceof devices.DeviceChainRefused) for (const c of mine) outside.add(c);
      }
    }
    if (!outside.size) return;
    await this.ctx.exclusive(() => this.markUnapproved(outside));
    this.ctx.changed();
  }

  private async markUnapproved(outside: Set<DeviceCheck>): Promise<void> {
    const ops: Op[] = [];
    for (const c of outside) {
      const meta = this.ctx.convs.get(c.id);
      if (!meta) continue;
      const fingerprint = verify.deviceFingerprint(c.key);
      meta.unapproved = [...new Set([...(meta.unapproved ?? []), fingerprint])];
      const notice = { type: "unapprovedDevice", who: c.handle, fingerprint, self: c.handle === this.ctx.account!.handle } as const;
      this.ctx.note(meta, c.seq, c.time, notice, ops);
      ops.push(put("convs", meta.id, meta));
    }
    await this.ctx.store.write(ops);
  }
}
