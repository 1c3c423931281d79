// Reports on one message of a groupe de parole. The reporter's client seals a signed report to each
// facilitator device (SignedReportContent: the encoded ReportContent and the reporter's leaf
// signature over "cercle-report-v1" || 0x00 || content), to the device's report key (leaf extension
// 0xF0A2) or, for a leaf without one, to its Ed25519 leaf key converted to X25519, as the C++ SDK
// does (client/sdk/client_moderation.cpp). A facilitator's device opens each ReportReceived with its
// report key, checks that the content names the group and the reporter the relay named, and that a
// current leaf of the reporter in this group signed it: a report that fails a check is never kept
// nor shown (a sealed box is anonymous: without the signature the relay could seal one in a
// member's name). It keeps the report on the device, and only then tells the relay (AckReport),
// which forgets it. A report to the instance's admins reveals one message's text to them, after the
// person agreed; their answer (AdminAnswer) is kept beside that message.
// Loaded on demand (never in a visitor's first load); works on the Messenger's Context.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { concat, equalBytes, fromHex, toHex, utf8 } from "./bytes";
import type { Context } from "./context";
import * as groups from "./groups";
import * as mls from "./mls";
import { NoFacilitator, NotInGroup, type ChatMessage, type ConvMeta } from "./model";
import { Role, SignedReportContentSchema, type ReportReceived } from "./proto";
import { decodeReport, encodeReport, openSealed, sealTo, sealToX25519, type ReportContent } from "./seal";
import { sign, verify, type KeyHandle } from "./signer";
import { del, put } from "./store";

export const REPORT_LABEL = "cercle-report-v1";

/** The bytes a reporter signs: "cercle-report-v1" || 0x00 || content. */
export function reportTranscript(content: Uint8Array): Uint8Array {
  return concat(utf8(REPORT_LABEL), Uint8Array.of(0), content);
}

/** A report as a facilitator's device keeps it (kv "report/<conversation>/<number>"). */
export interface StoredReport {
  id: string;         // The relay's report number (decimal).
  conv: string;       // The group (hex).
  peer: string;       // Its thread key.
  reporter: string;
  seq: number;        // The reported message's place in the group.
  text: string;       // What the reporter's device showed.
  reason: string;
  time: number;       // When the relay took it (ms).
}

/** What a device that receives reports is told: a report kept, or the admins' answer to one of its own. */
export type ReportNews = { kind: "received" | "answered"; peer: string };

const storeKey = (conv: string, id: string) => `report/${conv}/${id.padStart(20, "0")}`;

// ---- the reporter ---------------------------------------------------------------------------------

/** The signed, encoded report a facilitator's device opens. */
export async function signedReport(content: ReportContent, key: KeyHandle): Promise<Uint8Array> {
  const bytes = encodeReport(content);
  return toBinary(SignedReportContentSchema, create(SignedReportContentSchema, { content: bytes, signature: await sign(key, reportTranscript(bytes)) }));
}

/**
 * Seals `plain` for one leaf: to its report key when it has one of 32 bytes, else to its Ed25519
 * key; undefined (the leaf is skipped) when its report key is malformed.
 */
export function sealForLeaf(leaf: mls.Leaf, plain: Uint8Array): Uint8Array | undefined {
  if (leaf.reportKey === null) return undefined;
  if (leaf.reportKey) return sealToX25519(leaf.reportKey, plain);
  return leaf.signatureKey.length === 32 ? sealTo(leaf.signatureKey, plain) : undefined;
}

function groupMeta(ctx: Context, peer: string): ConvMeta {
  const meta = peer.startsWith("#") ? ctx.convs.get(peer.slice(1)) : undefined;
  if (!meta?.group || !meta.ready || meta.left || meta.broken) throw new NotInGroup("not in this group");
  return meta;
}

async function reportable(ctx: Context, meta: ConvMeta, key: string): Promise<ChatMessage> {
  const msg = await ctx.store.get<ChatMessage>("messages", key);
  if (!msg || msg.mine || msg.event || !msg.seq || msg.conv !== meta.id) throw new Error("not a message to report");
  return msg;
}

/**
 * Reports a received message of a group to its facilitators, with the reason the person gave (may
 * be empty): the text this device shows, signed with this device's leaf key and sealed to each
 * facilitator device (keys from the group's ratchet tree; the relay only says which device sits at
 * which leaf). Kept as reported.
 */
export async function reportMessage(ctx: Context, peer: string, key: string, reason: string): Promise<void> {
  const meta = groupMeta(ctx, peer);
  const msg = await reportable(ctx, meta, key);
  const rules = groups.rulesOf(await ctx.group(meta.id));
  const facilitators = new Set(rules?.roles.filter((r) => r.role === Role.FACILITATOR).map((r) => r.handle) ?? []);
  const info = await ctx.requireWire().call({ case: "getConversation", value: { conversationId: fromHex(meta.id) } }, "conversation");
  const leaves = mls.leaves(await ctx.group(meta.id));
  const content = { conversationId: fromHex(meta.id), seq: msg.seq, text: msg.text, reason, reporter: ctx.account!.handle };
  const plain = await signedReport(content, ctx.account!.mlsKey);
  const reports: { deviceId: bigint; sealed: Uint8Array }[] = [];
  for (const m of info.members) {
    if (!facilitators.has(m.handle) || m.deviceId === ctx.account!.deviceId) continue;
    const leaf = leaves.find((l) => l.leaf === m.leaf && l.handle === m.handle);
    const sealed = leaf && sealForLeaf(leaf, plain);
    if (sealed) reports.push({ deviceId: m.deviceId, sealed });
  }
  if (reports.length === 0) throw new NoFacilitator("no facilitator to report to");
  await ctx.requireWire().call({ case: "reportToFacilitators", value: { conversationId: fromHex(meta.id), reports } }, "done");
  msg.reported = true;
  await ctx.store.write([put("messages", msg.key, msg)]);
  ctx.changed();
}

/**
 * Reports a message to the instance's admins: its text travels in the clear to them (the person
 * agreed to it on a screen that says so). Returns the report's number; the message keeps it.
 */
export async function reportToAdmins(ctx: Context, peer: string, key: string, reason: string): Promise<string> {
  const meta = groupMeta(ctx, peer);
  const msg = await reportable(ctx, meta, key);
  const value = { conversationId: fromHex(meta.id), seq: BigInt(msg.seq), revealedText: msg.text, reason };
  const res = await ctx.requireWire().call({ case: "reportToAdmins", value }, "report");
  const id = String(res.reportId);
  msg.adminReport = id;
  await ctx.store.write([put("messages", msg.key, msg), put("kv", `adminReport/${id}`, { key: msg.key })]);
  ctx.changed();
  return id;
}

// ---- the facilitator ------------------------------------------------------------------------------

/** Why a report is not kept: "later" when the reporter has no leaf in this device's state yet. */
export type Opened = { content: ReportContent } | { refused: "unopened" | "unreadable" | "otherGroup" | "otherReporter" | "signature" } | { later: true };

/**
 * Opens a report sealed to this device (`secret`: its report key) and checks it against the group
 * `state`: the content names the group and reporter the relay named, and one of the reporter's
 * current leaves signed it.
 */
export async function openReport(state: mls.GroupStateHandle, secret: Uint8Array, r: Pick<ReportReceived, "conversationId" | "reporter" | "sealed">): Promise<Opened> {
  const plain = openSealed(secret, r.sealed);
  if (!plain) return { refused: "unopened" };
  let signed, content: ReportContent;
  try {
    signed = fromBinary(SignedReportContentSchema, plain);
    content = decodeReport(signed.content);
  } catch {
    return { refused: "unreadable" };
  }
  if (!equalBytes(content.conversationId, r.conversationId)) return { refused: "otherGroup" };
  if (content.reporter !== r.reporter) return { refused: "otherReporter" };
  const keys = mls.leaves(state).filter((l) => l.handle === r.reporter).map((l) => l.signatureKey);
  if (keys.length === 0) return { later: true };
  const transcript = reportTranscript(signed.content);
  for (const k of keys) {
    if (signed.signature.length === 64 && (await verify(k, transcript, signed.signature).catch(() => false))) return { content };
  }
  return { refused: "signature" };
}

/** Reports this device could not check yet (the reporter not in its state): tried again after each batch. */
const waiting = new WeakMap<Context, Map<string, ReportReceived>>();

export class Reports {
  constructor(private readonly ctx: Context) {}

  private get held(): Map<string, ReportReceived> {
    let m = waiting.get(this.ctx);
    if (!m) waiting.set(this.ctx, (m = new Map()));
    return m;
  }

  /** A ReportReceived: opened, checked, kept, then acknowledged; refused ones are acknowledged unseen. */
  async receive(r: ReportReceived): Promise<void> {
    const id = String(r.reportId);
    const verdict = await this.ctx.exclusive(() => this.keep(r, id));
    if (verdict === "later") {
      this.held.set(id, r);
      return;
    }
    this.held.delete(id);
    // Kept durably (or refused): the relay may forget it. Offline: it comes again at sign-in.
    await this.ctx.requireWire().call({ case: "ackReport", value: { reportId: r.reportId } }, "done").catch(() => {});
  }

  /** Tries again the reports held back (after the device caught up with its groups). */
  async retry(): Promise<void> {
    for (const r of [...this.held.values()]) await this.receive(r).catch(() => {});
  }

  private async keep(r: ReportReceived, id: string): Promise<"kept" | "refused" | "later"> {
    const conv = toHex(r.conversationId);
    if (await this.ctx.store.get("kv", storeKey(conv, id))) return "kept";  // Its ack was lost.
    const meta = this.ctx.convs.get(conv);
    const secret = this.ctx.account?.reportKey;
    if (!secret) return "refused";
    if (!meta?.group || !meta.ready || meta.left) return meta?.left ? "refused" : "later";
    const opened = await openReport(await this.ctx.group(conv), secret, r);
    if ("later" in opened) return "later";
    if ("refused" in opened) return "refused";
    const c = opened.content;
    const report: StoredReport = { id, conv, peer: meta.peer, reporter: r.reporter, seq: c.seq, text: c.text, reason: c.reason, time: Number(r.timeMs) };
    meta.reportsOpen = (meta.reportsOpen ?? 0) + 1;
    await this.ctx.store.write([put("kv", storeKey(conv, id), report), put("convs", conv, meta)]);
    this.ctx.changed();
    const news: ReportNews = { kind: "received", peer: meta.peer };
    queueMicrotask(() => this.ctx.listeners.report.forEach((fn) => fn(news)));
    return "kept";
  }

  /** The reports kept for a group, oldest first. */
  list(peer: string): Promise<StoredReport[]> {
    return this.ctx.store.list<StoredReport>("kv", `report/${peer.slice(1)}/`);
  }

  /** Closes a report: it leaves this device. */
  async close(peer: string, id: string): Promise<void> {
    const conv = peer.slice(1);
    await this.ctx.exclusive(async () => {
      const meta = this.ctx.convs.get(conv);
      const left = (await this.list(peer)).filter((r) => r.id !== id).length;
      const ops = [del("kv", storeKey(conv, id))];
      if (meta) {
        meta.reportsOpen = left;
        ops.push(put("convs", conv, meta));
      }
      await this.ctx.store.write(ops);
    });
    this.ctx.changed();
  }

  /**
   * The reported message in its place in this device's history: up to `around` messages before
   * and after it; `message` is undefined when it is no longer here (deleted, or past retention).
   */
  async context(r: StoredReport, around = 3): Promise<{ before: ChatMessage[]; message?: ChatMessage; after: ChatMessage[] }> {
    const all = (await this.ctx.store.list<ChatMessage>("messages", `${r.peer}\u0000`)).filter((m) => !m.event && m.conv === r.conv && m.seq > 0).sort((a, b) => a.seq - b.seq);
    const at = all.findIndex((m) => m.seq === r.seq);
    if (at < 0) return { before: [], after: [] };
    return { before: all.slice(Math.max(0, at - around), at), message: all[at], after: all.slice(at + 1, at + 1 + around) };
  }

  /** The admins answered one of this account's reports: kept beside the message. */
  async answered(reportId: bigint, text: string): Promise<void> {
    const id = String(reportId);
    const record = await this.ctx.store.get<{ key: string; answer?: string }>("kv", `adminReport/${id}`);
    if (!record) return;  // Made on another device of the account.
    const msg = await this.ctx.store.get<ChatMessage>("messages", record.key);
    const ops = [put("kv", `adminReport/${id}`, { ...record, answer: text })];
    if (msg) {
      msg.adminAnswer = text;
      ops.push(put("messages", msg.key, msg));
    }
    await this.ctx.store.write(ops);
    this.ctx.changed();
    const news: ReportNews = { kind: "answered", peer: msg?.peer ?? "" };
    queueMicrotask(() => this.ctx.listeners.report.forEach((fn) => fn(news)));
  }
}
