// Tests only (bundled into build-node/core.mjs, never into the page): reports as the core makes and
// keeps them (src/core/reports.ts), and a member forging one: sealed to the facilitators' devices
// like a real one, but signed with another key, or naming another reporter or group.
import { fromHex } from "../core/bytes";
import type { Messenger } from "../core/messenger";
import * as mls from "../core/mls";
import { Reports, openReport, sealForLeaf, signedReport, type StoredReport } from "../core/reports";
import { generateKey } from "../core/signer";
import { inside } from "./inside";

export { openSealed, reportPublicKey, sealTo, sealToX25519, decodeReport, encodeReport } from "../core/seal";
export { openReport, reportTranscript, sealForLeaf, signedReport } from "../core/reports";

/** The reports `m` keeps for a group (hex id), oldest first. */
export function kept(m: Messenger, id: string): Promise<StoredReport[]> {
  return new Reports(inside(m).ctx).list(`#${id}`);
}

/** This device's report key (private) and the public key its leaves carry. */
export async function reportKeyOf(m: Messenger): Promise<{ secret: Uint8Array; public: Uint8Array }> {
  const secret = inside(m).ctx.account.reportKey!;
  const { reportPublicKey } = await import("../core/seal");
  return { secret, public: reportPublicKey(secret) };
}

/** Every leaf of the group as `m` holds it: handle and report key (undefined: none; null: malformed). */
export async function leafReportKeys(m: Messenger, id: string): Promise<{ handle: string; reportKey?: Uint8Array | null }[]> {
  return mls.leaves(await inside(m).ctx.group(id)).map((l) => ({ handle: l.handle, reportKey: l.reportKey }));
}

/** Opens a sealed report with `m`'s report key against its state of the group (the checks of a facilitator's device). */
export async function open(m: Messenger, id: string, r: { conversationId: Uint8Array; reporter: string; sealed: Uint8Array }) {
  return openReport(await inside(m).ctx.group(id), inside(m).ctx.account.reportKey!, r);
}

/**
 * `m` (a member) sends a report on `seq` to the group's facilitator devices, made as a real one
 * unless told: `signer` "other" signs it with a fresh key instead of `m`'s leaf key; `reporter`
 * and `conversationId` name someone or something else inside the sealed content.
 */
export async function forge(m: Messenger, id: string, seq: number, opts: { text?: string; signer?: "own" | "other"; reporter?: string; conversationId?: Uint8Array } = {}): Promise<void> {
  const x = inside(m);
  const key = opts.signer === "other" ? await generateKey() : x.ctx.account.mlsKey;
  const content = { conversationId: opts.conversationId ?? fromHex(id), seq, text: opts.text ?? "forged", reason: "", reporter: opts.reporter ?? x.ctx.account.handle };
  const plain = await signedReport(content, key);
  const wire = x.ctx.requireWire();
  const info = await wire.call({ case: "getConversation", value: { conversationId: fromHex(id) } }, "conversation");
  const state = await x.ctx.group(id);
  const rules = (await import("../core/groups")).rulesOf(state);
  const leads = new Set(rules?.roles.filter((r) => r.role === 1).map((r) => r.handle));
  const leaves = mls.leaves(state);
  const reports = [];
  for (const mem of info.members) {
    if (!leads.has(mem.handle) || mem.deviceId === x.ctx.account.deviceId) continue;
    const leaf = leaves.find((l) => l.leaf === mem.leaf);
    const sealed = leaf && sealForLeaf(leaf, plain);
    if (sealed) reports.push({ deviceId: mem.deviceId, sealed });
  }
  await wire.call({ case: "reportToFacilitators", value: { conversationId: fromHex(id), reports } }, "done");
}
