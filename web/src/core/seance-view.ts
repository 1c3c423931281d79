// A group's séance as this device last accepted it (kept in the conversation's record, so a relay
// cannot rewind it after a reload) and the composer's gate, computed without loading seance.ts:
// the same order as seance.ts mayWrite (facilitators exempt; only in séance; the floor; the charter).
import type { ConvMeta } from "./model";

/** SeanceState with arrays (the store keeps plain values), and when the séance opened (relay time). */
export interface StoredSeance {
  head: string;
  openId: string;
  openSeq: number;
  floor: string;
  hands: string[];
  confirmed: string[];
  openedMs: number;
  /** Séances closed under `erase_after`: this device deletes its copies of [from, to] at dueMs (relay time). */
  erasures?: { from: number; to: number; dueMs: number }[];
}

/** Whether some group waits to erase a closed séance's messages (seances.ts eraseDue does it). */
export function erasureWaits(metas: Iterable<ConvMeta>): boolean {
  for (const m of metas) if (m.seance?.erasures?.length) return true;
  return false;
}

export type SeanceGate = "allowed" | "outsideSeance" | "floorElsewhere" | "charterUnconfirmed";

/** What the page shows of a group's séance. */
export interface SeanceView {
  rules: boolean;        // The group has séance rules.
  open: boolean;
  openedMs: number;
  floor: string;         // "": nobody's (or held by someone who left).
  hands: string[];       // Raised hands of current members only.
  confirmed: boolean;    // This account confirmed the charter of the open séance.
  charter: string;
  facilitator: boolean;  // This account leads the group.
  gate: SeanceGate;      // Whether this account may write now, and why not.
  planned: { startMs: number; minutes: number; weekly: boolean }[];  // The schedule of the group's profile.
  zone: string;          // The IANA zone weekly séances keep their hour in ("": none given).
}

/**
 * The séance of a group as this device sees it; undefined for a conversation with neither séance
 * rules nor planned séances (`rules` false: séances are planned, but none can be opened).
 */
export function seanceView(meta: ConvMeta, me: string): SeanceView | undefined {
  const rules = meta.rules?.seances;
  const planned = meta.profile?.schedule ?? [];
  if (!meta.group || (!rules && !planned.length)) return undefined;
  const s = meta.seance;
  const members = new Set((meta.roster ?? []).map((r) => r.handle));
  const facilitator = (meta.roster ?? []).some((r) => r.handle === me && r.role === "facilitator");
  const open = !!rules && !!s?.openId;
  const floor = s?.floor && members.has(s.floor) ? s.floor : "";
  const confirmed = !!s?.confirmed.includes(me);
  const charter = meta.rules?.charter ?? "";
  let gate: SeanceGate = "allowed";
  if (facilitator) gate = "allowed";
  else if (!rules) gate = "allowed";
  else if (rules.writeOnlyInSeance && !open) gate = "outsideSeance";
  else if (rules.turnTaking && floor !== "" && floor !== me) gate = "floorElsewhere";
  else if (open && charter !== "" && !confirmed) gate = "charterUnconfirmed";
  const hands = (s?.hands ?? []).filter((h) => members.has(h));
  const zone = meta.profile?.timeZone ?? "";
  return { rules: !!rules, open, openedMs: s?.openedMs ?? 0, floor, hands, confirmed, charter, facilitator, gate, planned, zone };
}
