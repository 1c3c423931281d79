// Invitations to groups addressed to this account (from the relay at each connection, and live),
// accepting one (remembered on this device: a professional joins only a group accepted here), and
// declining one (DeclineInvitation: the group is told; kept here too, and sent at the next
// connection when the relay cannot be reached), and objecting to a professional's invitation to a
// group this device is in. Part of the Messenger.
import { fromBinary } from "@bufbuild/protobuf";
import { fromHex, toHex } from "./bytes";
import type { Context } from "./context";
import type { AcceptedInvitation, PendingInvitation } from "./model";
import { ErrorCode, InvitationSchema, InviteeType, SignedInvitationSchema } from "./proto";
import { put } from "./store";
import { ConnectionLost, RelayError, type Wire } from "./wire";

/** What became of "Ne pas accepter": the relay told the group, will tell it once connected, or cannot. */
export type Declined = "told" | "later" | "notTold";

/** A decline still to be sent (conversation id and nonce, hex). */
interface DeclineToSend {
  conversation: string;
  id: string;
}

export class Invitations {
  private readonly pending = new Map<string, PendingInvitation>();
  /** Declined here ("Ne pas accepter"): never shown again on this device (nonces, hex). */
  private ignored = new Set<string>();
  private accepted: AcceptedInvitation[] = [];
  /** Declined while the relay could not be reached: sent at the next connection. */
  private toSend: DeclineToSend[] = [];

  constructor(private readonly ctx: Context) {}

  /** Reads what this device keeps: invitations put aside, and those accepted. */
  async restore(): Promise<void> {
    this.ignored = new Set((await this.ctx.store.get<string[]>("kv", "ignoredInvitations")) ?? []);
    this.accepted = (await this.ctx.store.get<AcceptedInvitation[]>("kv", "acceptedInvitations")) ?? [];
    this.toSend = (await this.ctx.store.get<DeclineToSend[]>("kv", "declinesToSend")) ?? [];
  }

  async load(wire: Wire): Promise<void> {
    await this.sendDeclines(wire);
    const list = await wire.call({ case: "listInvitations", value: {} }, "invitations");
    this.pending.clear();
    for (const bytes of list.signedInvitations) this.learn(bytes);
    this.ctx.changed();
  }

  /** Keeps a signed invitation (encoded) if it is addressed to this account. */
  learn(bytes: Uint8Array): void {
    try {
      const i = fromBinary(InvitationSchema, fromBinary(SignedInvitationSchema, bytes).invitation);
      if (i.invitee !== this.ctx.account?.handle) return;
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

  /** Invitations for this account that are still open, oldest first. */
  list(): PendingInvitation[] {
    const now = this.ctx.serverNow();
    return [...this.pending.values()].filter((i) => i.expiresAtMs > now && !this.ignored.has(i.id)).sort((a, b) => a.expiresAtMs - b.expiresAtMs);
  }

  /** Accepts an invitation (and its charter): the inviter's client then adds this account. */
  async accept(id: string): Promise<void> {
    const i = this.pending.get(id);
    if (!i) return;
    // Before the relay hears of it: the Welcome may follow at once.
    await this.rememberAccepted(i.conversation);
    const value = { conversationId: fromHex(i.conversation), nonce: fromHex(id) };
    await this.ctx.requireWire().call({ case: "acceptInvitation", value }, "done");
    this.pending.delete(id);
    this.accepted = [...this.accepted.filter((a) => a.conversation !== i.conversation), { conversation: i.conversation, inviter: i.inviter }];
    await this.ctx.store.write([put("kv", "acceptedInvitations", this.accepted)]);
    this.ctx.changed();
  }

  /**
   * Declines an invitation: DeclineInvitation tells the group (the inviter sees it, and the
   * invitation can no longer be used). It leaves this device's list at once; when the relay cannot
   * be reached, the decline is sent at the next connection.
   */
  async decline(id: string): Promise<Declined> {
    const i = this.pending.get(id);
    this.ignored.add(id);
    await this.ctx.store.write([put("kv", "ignoredInvitations", [...this.ignored])]);
    this.ctx.changed();
    if (!i) return "notTold";
    const item = { conversation: i.conversation, id };
    const wire = this.ctx.wire;
    const sent = wire && !wire.isClosed ? await this.sendDecline(wire, item) : "later";
    if (sent === "later") await this.keepToSend([...this.toSend, item]);
    return sent;
  }

  private async sendDecline(wire: Wire, item: DeclineToSend): Promise<Declined> {
    try {
      await wire.call({ case: "declineInvitation", value: { conversationId: fromHex(item.conversation), nonce: fromHex(item.id) } }, "done");
      return "told";
    } catch (e) {
      if (e instanceof ConnectionLost) return "later";
      // UNKNOWN_OPERATION (an older relay), or the invitation ended meanwhile: nobody to tell.
      const retry = [ErrorCode.INTERNAL, ErrorCode.RATE_LIMITED, ErrorCode.SHUTTING_DOWN];
      return e instanceof RelayError && !retry.includes(e.code) ? "notTold" : "later";
    }
  }

  /** Sends the declines made while the relay could not be reached. */
  private async sendDeclines(wire: Wire): Promise<void> {
    if (this.toSend.length === 0) return;
    const left: DeclineToSend[] = [];
    for (const item of this.toSend) if ((await this.sendDecline(wire, item)) === "later") left.push(item);
    await this.keepToSend(left);
  }

  private async keepToSend(list: DeclineToSend[]): Promise<void> {
    this.toSend = list;
    await this.ctx.store.write([put("kv", "declinesToSend", list)]);
  }

  /** Invitations accepted whose group this device has not joined yet (it waits to be added). */
  waiting(): AcceptedInvitation[] {
    return this.accepted.filter((a) => !this.ctx.convs.get(a.conversation)?.ready);
  }

  /** Objects to a professional's invitation to a group this device is in (groups with a delay for objections). */
  async objectTo(peer: string, id: string): Promise<void> {
    const meta = this.ctx.convs.get(peer.slice(1));
    if (!meta?.group) return;
    await this.ctx.requireWire().call({ case: "objectToInvitation", value: { conversationId: fromHex(meta.id), nonce: fromHex(id) } }, "done");
  }

  /** Whether this device accepted an invitation to the group (conversation id, hex). */
  async acceptedHere(id: string): Promise<boolean> {
    return ((await this.ctx.store.get<string[]>("kv", "acceptedGroups")) ?? []).includes(id);
  }

  /** Remembers on this device that its user accepted an invitation to the group. */
  async rememberAccepted(id: string): Promise<void> {
    const list = (await this.ctx.store.get<string[]>("kv", "acceptedGroups")) ?? [];
    if (!list.includes(id)) await this.ctx.store.write([put("kv", "acceptedGroups", [...list, id])]);
  }
}
