// A group's planned séances (GroupProfile.schedule and time_zone, written alike by the C++ SDK,
// client/sdk/client_profile.cpp): each slot is its first start (ms since the epoch) and a length;
// a weekly slot comes back on the same weekday at the same wall-clock hour in the group's zone, so
// a séance at 18 h 30 in Paris stays at 18 h 30 in Paris when the clocks change (and moves by an
// hour for a member in Martinique, where they do not). Pure functions; the zones are the IANA ones
// Intl knows. A wall time that does not exist (the hour skipped in spring) lands an hour off.

export interface Slot {
  startMs: number;
  minutes: number;
  weekly: boolean;
}

/** One séance of a slot: when it starts and how long it lasts. */
export interface Occurrence extends Slot {
  slot: number;  // Index of its slot in the schedule.
}

/** A wall-clock time in some zone; month 1..12, weekday 0 (Sunday) .. 6. */
export interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  weekday: number;
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const formats = new Map<string, Intl.DateTimeFormat>();

/** Whether Intl knows this IANA zone. */
export function isZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return zone !== "";
  } catch {
    return false;
  }
}

/** The zone a schedule is read in: its own, or UTC when it names none Intl knows. */
export function zoneOr(zone: string | undefined): string {
  return zone && isZone(zone) ? zone : "UTC";
}

function format(zone: string): Intl.DateTimeFormat {
  let f = formats.get(zone);
  if (!f) {
    const opts = { timeZone: zone, hourCycle: "h23", weekday: "short", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric" } as const;
    f = new Intl.DateTimeFormat("en-US", opts);
    formats.set(zone, f);
  }
  return f;
}

/** What the clocks of `zone` show at `ms`. */
export function wallTime(zone: string, ms: number): Wall {
  const parts: Record<string, string> = {};
  for (const p of format(zone).formatToParts(new Date(ms))) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour) % 24,
    minute: Number(parts.minute),
    weekday: DAYS.indexOf(parts.weekday ?? ""),
  };
}

// How far `zone` is ahead of UTC at `ms`, in ms.
function offsetAt(zone: string, ms: number): number {
  const w = wallTime(zone, ms);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute) - (ms - (((ms % 60_000) + 60_000) % 60_000));
}

/** The instant the clocks of `zone` show this date and hour (day may overflow the month: Date.UTC carries it). */
export function zonedMs(zone: string, year: number, month: number, day: number, hour: number, minute: number): number {
  const asUtc = Date.UTC(year, month - 1, day, hour, minute);
  // The offset near the answer, then once more at the answer (it differs across a change of time).
  const first = asUtc - offsetAt(zone, asUtc);
  return asUtc - offsetAt(zone, first);
}

/** The start of a slot's k-th séance (k = 0: the first); the same wall hour in `zone` each week. */
export function occurrenceStart(slot: Slot, zone: string, k: number): number {
  if (!slot.weekly || k === 0) return slot.startMs;
  const w = wallTime(zone, slot.startMs);
  return zonedMs(zone, w.year, w.month, w.day + 7 * k, w.hour, w.minute);
}

const WEEK_MS = 7 * 24 * 3600_000;

/** A slot's séances not yet over at `nowMs` (at most `count`), in order. */
export function slotOccurrences(slot: Slot, index: number, zone: string, nowMs: number, count: number): Occurrence[] {
  const length = slot.minutes * 60_000;
  const at = (startMs: number): Occurrence => ({ startMs, minutes: slot.minutes, weekly: slot.weekly, slot: index });
  if (!slot.weekly) return slot.startMs + length > nowMs && count > 0 ? [at(slot.startMs)] : [];
  const out: Occurrence[] = [];
  // A week before the estimate: a change of time moves a séance by an hour at most.
  let k = Math.max(0, Math.floor((nowMs - slot.startMs) / WEEK_MS) - 1);
  while (out.length < count) {
    const start = occurrenceStart(slot, zone, k++);
    if (start + length > nowMs) out.push(at(start));
  }
  return out;
}

/** The schedule's next séances (one running now included), earliest first, at most `count`. */
export function nextOccurrences(slots: Slot[], zone: string, nowMs: number, count: number): Occurrence[] {
  const all = slots.flatMap((slot, i) => slotOccurrences(slot, i, zoneOr(zone), nowMs, count));
  return all.sort((a, b) => a.startMs - b.startMs || a.slot - b.slot).slice(0, count);
}

/** When the words of the next séance change: it starts, or it ends (undefined: nothing planned). */
export function nextChange(slots: Slot[], zone: string, nowMs: number): number | undefined {
  const [next] = nextOccurrences(slots, zone, nowMs, 1);
  if (!next) return undefined;
  return next.startMs > nowMs ? next.startMs : next.startMs + next.minutes * 60_000;
}

/**
 * A slot from what a facilitator typed: a date "2026-12-08" and an hour "18:30" read on the clocks
 * of `zone`, a length in minutes (1 .. 24 h). Undefined when one of them is not that.
 */
export function slotFrom(zone: string, date: string, hour: string, minutes: number, weekly: boolean): Slot | undefined {
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const t = /^(\d{2}):(\d{2})$/.exec(hour);
  if (!d || !t || !Number.isInteger(minutes) || minutes < 1 || minutes > 24 * 60) return undefined;
  const [y, mo, day, hh, mm] = [d[1], d[2], d[3], t[1], t[2]].map(Number);
  if (mo < 1 || mo > 12 || day < 1 || day > 31 || hh > 23 || mm > 59) return undefined;
  if (new Date(Date.UTC(y, mo - 1, day)).getUTCDate() !== day) return undefined;  // No 31 June.
  return { startMs: zonedMs(zoneOr(zone), y, mo, day, hh, mm), minutes, weekly };
}

/** The zone this device's clocks follow ("UTC" when the system says none). */
export function localZone(): string {
  return zoneOr(Intl.DateTimeFormat().resolvedOptions().timeZone);
}
