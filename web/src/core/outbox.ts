// The outbox: messages written are kept in the store as pending and sent oldest first, now if
// online, else at the next connection; an answer lost with the connection is looked for in the log
// before sending again (nothing is sent twice); a stale epoch waits for the group to catch up and
// encrypts again. Part of the Messenger (messenger.ts); single-threaded.
import { equalBytes, fromHex, sleep, utf8 } from "./bytes";
import type { Context } from "./context";
import * as mls from "./mls";
import { messageKey, type ChatMessage, type ConvMeta } from "./model";
import { ErrorCode } from "./proto";
import { put } from "./store";
import { markHandled } from "./watermark";
import { RelayError, type Wire } from "./wire";

/** A send that failed while online is tried again after this long (stretched while the page is hidden). */
const RETRY_MS = 3000;

export class Outbox {
  private flushing = false;
  private flushAgain = false;
  private retryTimer?: ReturnType<typeof setTimeout>;

  constructor(
    private readonly ctx: Context,
    /** Opens a direct conversation with a peer (conversations.ts). */
    private readonly startConversation: (peer: string) => Promise<string>,
    /** How long a wait of `ms` lasts now (messenger.ts: never shorter than the idle ping while the page is hidden). */
    private readonly wait: (ms: number) => number = (ms) => ms,
  ) {}

  /** Queues a message to `peer`; it is sent now if online, else at the next connection. */
  async sendText(peer: string, text: string): Promise<ChatMessage> {
    // A plaintext starting with 0x00 is typed content (profile.ts), never a message's text.
    if (text.startsWith("\u0000")) throw new RangeError("a message cannot start with U+0000");
    const msg: ChatMessage = {
      key: messageKey(peer, Date.now()),
      peer,
      conv: "",
      seq: 0,
      mine: true,
      sender: this.ctx.account!.handle,
      text,
      time: Date.now(),
      status: "pending",
      professional: this.ctx.professional,
    };
    await this.ctx.store.write([put("messages", msg.key, msg)]);
    this.ctx.changed();
    void this.flush();
    return msg;
  }

  /** Sends every pending message, oldest first. */
  async flush(): Promise<void> {
    if (this.flushing) {
      this.flushAgain = true;
      return;
    }
    this.flushing = true;
    try {
      do {
        this.flushAgain = false;
        const pending = (await this.ctx.store.list<ChatMessage>("messages")).filter((m) => m.mine && m.status === "pending");
        pending.sort((a, b) => a.time - b.time);
        for (const msg of pending) {
          if (!this.online()) return;
          await this.sendOne(msg);
        }
      } while (this.flushAgain);
    } catch {
      // Stays pending: retried at the next connection, or soon if still online (the peer may have
      // no key package yet, or the relay asked to slow down).
      if (this.online() && !this.retryTimer) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          void this.flush();
        }, this.wait(RETRY_MS));
      }
    } finally {
      this.flushing = false;
    }
  }

  /** The page is in view again: a retry that was waiting is done now. */
  wake(): void {
    if (!this.retryTimer) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    void this.flush();
  }

  private online(): boolean {
    return !!this.ctx.wire && !this.ctx.wire.isClosed;
  }

  /** The conversation a message goes to (a direct one is opened if needed; undefined: it failed). */
  private async conversationFor(msg: ChatMessage): Promise<ConvMeta | undefined> {
    const meta = this.ctx.activeConv(msg.peer);
    // A group this device is no longer in (or cannot read): nobody is started for it.
    if (meta || msg.peer.startsWith("#")) return meta;
    try {
      await this.startConversation(msg.peer);
    } catch (e) {
      if (e instanceof RelayError && e.code === ErrorCode.NOT_FOUND) return undefined;
      throw e;
    }
    return this.ctx.activeConv(msg.peer)!;
  }

  private async sendOne(msg: ChatMessage): Promise<void> {
    const wire = this.ctx.requireWire();
    const meta = await this.conversationFor(msg);
    if (!meta) return this.markFailed(msg, msg.peer.startsWith("#") ? 0 : ErrorCode.NOT_FOUND);
    // An earlier attempt whose answer was lost may have reached the relay: look before sending again.
    if (msg.payload && msg.conv === meta.id && (await this.confirmFromLog(wire, meta, msg))) return;
    for (let attempt = 0; attempt < 5; attempt++) {
      const state = await this.ctx.group(meta.id);
      if (!msg.payload || msg.conv !== meta.id || msg.epoch !== Number(mls.epochOf(state))) await this.seal(meta, msg);
      try {
        const value = { conversationId: fromHex(meta.id), epoch: BigInt(msg.epoch!), payload: msg.payload! };
        const res = await wire.call({ case: "send", value }, "send");
        await this.confirmSent(wire, meta, msg, Number(res.seq), Number(res.serverTimeMs));
        return;
      } catch (e) {
        if (e instanceof RelayError && e.code === ErrorCode.STALE_EPOCH) {
          await this.waitForEpoch(meta.id, Number(e.currentEpoch), 10_000);
          continue;
        }
        if (e instanceof RelayError) return this.markFailed(msg, e.code);
        throw e;
      }
    }
    // The relay's group went to an epoch this device refused (or cannot read): it will not catch up.
    if (meta.refused || meta.broken) await this.markFailed(msg, 0);
  }

  /** Puts a message that was not sent back in the queue (the person pressed "Réessayer"). */
  async retry(key: string): Promise<void> {
    const msg = await this.ctx.store.get<ChatMessage>("messages", key);
    if (!msg?.mine || msg.status !== "failed") return;
    msg.status = "pending";
    delete msg.failCode;
    await this.ctx.store.write([put("messages", msg.key, msg)]);
    this.ctx.changed();
    void this.flush();
  }

  /** Encrypts the message in the group's current epoch and keeps it (with the group's new state). */
  private seal(meta: ConvMeta, msg: ChatMessage): Promise<void> {
    return this.ctx.exclusive(async () => {
      const out = await mls.encrypt(await this.ctx.group(meta.id), utf8(msg.text));
      this.ctx.groups.set(meta.id, out.newState);
      msg.payload = out.message;
      msg.conv = meta.id;
      msg.epoch = Number(mls.epochOf(out.newState));
      await this.ctx.store.write([put("groups", meta.id, mls.encodeState(out.newState)), put("messages", msg.key, msg)]);
    });
  }

  private async markFailed(msg: ChatMessage, code: number): Promise<void> {
    msg.status = "failed";
    msg.failCode = code;
    delete msg.payload;
    await this.ctx.store.write([put("messages", msg.key, msg)]);
    this.ctx.changed();
  }

  private async confirmSent(wire: Wire, meta: ConvMeta, msg: ChatMessage, seq: number, time: number): Promise<void> {
    this.ctx.sawServerTime(time);
    await this.ctx.exclusive(async () => {
      msg.seq = seq;
      msg.status = "sent";
      msg.time = time || msg.time;
      delete msg.payload;
      meta.lastTime = msg.time;
      markHandled(meta, seq);
      await this.ctx.store.write([put("messages", msg.key, msg), put("convs", meta.id, meta)]);
      wire.fire({ case: "ack", value: { conversationId: fromHex(meta.id), seq: BigInt(meta.processed) } });
    });
    this.ctx.changed();
  }

  private async confirmFromLog(wire: Wire, meta: ConvMeta, msg: ChatMessage): Promise<boolean> {
    let after = BigInt(Math.max(0, meta.processed - 1));
    for (let page = 0; page < 20; page++) {
      const log = await wire.call(
        { case: "fetchLog", value: { conversationId: fromHex(meta.id), afterSeq: after, limit: 100 } },
        "log",
      );
      for (const e of log.entries) {
        if (e.senderDevice === this.ctx.account!.deviceId && equalBytes(e.payload, msg.payload!)) {
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
      const g = await this.ctx.group(id);
      if (Number(mls.epochOf(g)) >= epoch) return;
      await sleep(100);
    }
  }
}
