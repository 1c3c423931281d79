// A group's planned séances in plain words, on the reader's own clocks: "Prochaine séance : mardi 8
// décembre à 18 h 30, pendant 1 h 30.", "Chaque mardi à 18 h 30, pendant 1 h 30.". A weekly slot's
// weekday and hour are read from its next séance, so a member in another zone reads the hour that
// is right this week (seance-schedule.ts keeps it in the group's zone). Pure apart from Intl.
import { nextOccurrences, slotOccurrences, wallTime, zoneOr, type Occurrence, type Slot } from "../core/seance-schedule";
import type { Lang } from "../i18n";
import { st } from "../i18n-seance";

/** Who reads, where and when (tests pass their own). */
export interface Reader {
  zone: string;
  lang: Lang;
  nowMs: number;
}

const locale = (l: Lang) => (l === "en" ? "en-GB" : "fr-FR");

/** "18 h 30" ("18 h" on the hour) in French; "6:30 PM" in English; never cut at the end of a line. */
export function hourWords(ms: number, r: Reader): string {
  if (r.lang === "en") return new Date(ms).toLocaleTimeString("en-US", { hour: "numeric", minute: "2-digit", timeZone: r.zone }).replace(/\s/g, "\u00a0");
  const w = wallTime(r.zone, ms);
  return w.minute ? `${w.hour}\u00a0h\u00a0${String(w.minute).padStart(2, "0")}` : `${w.hour}\u00a0h`;
}

/** "mardi 8 décembre" ("… 2027" when not this year). */
export function dayWords(ms: number, r: Reader): string {
  const year = wallTime(r.zone, ms).year !== wallTime(r.zone, r.nowMs).year;
  return new Intl.DateTimeFormat(locale(r.lang), { weekday: "long", day: "numeric", month: "long", year: year ? "numeric" : undefined, timeZone: r.zone }).format(new Date(ms));
}

/** "1 h 30", "2 h", "45 min" (no-break spaces). */
export function durationWords(minutes: number, l: Lang): string {
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  if (!h) return st("planMinutes", { n: m }, l);
  return m ? st("planHoursMinutes", { h, m: String(m).padStart(2, "0") }, l) : st("planHours", { h }, l);
}

function weekdayWords(ms: number, r: Reader): string {
  return new Intl.DateTimeFormat(locale(r.lang), { weekday: "long", timeZone: r.zone }).format(new Date(ms));
}

/** The next séance, or the one running now. */
export function nextWords(o: Occurrence, r: Reader): string {
  const end = o.startMs + o.minutes * 60_000;
  if (o.startMs <= r.nowMs) return st("planNow", { time: hourWords(end, r) }, r.lang);
  return st("planNext", { day: dayWords(o.startMs, r), time: hourWords(o.startMs, r), duration: durationWords(o.minutes, r.lang) }, r.lang);
}

/** One slot: "Chaque mardi à 18 h 30, pendant 1 h 30." or "Le mardi 8 décembre à 18 h 30, pendant 2 h.". */
export function slotWords(slot: Slot, groupZone: string, r: Reader): string {
  const next = slotOccurrences(slot, 0, zoneOr(groupZone), r.nowMs, 1)[0];
  const at = next?.startMs ?? slot.startMs;
  const vars = { time: hourWords(at, r), duration: durationWords(slot.minutes, r.lang) };
  return slot.weekly ? st("planWeekly", { ...vars, weekday: weekdayWords(at, r) }, r.lang) : st("planOnce", { ...vars, day: dayWords(at, r) }, r.lang);
}

/**
 * What a member reads of the schedule: the next séance; then each weekly slot (and every slot when
 * there are several); then, when the reader's zone is not the group's, that the hours are theirs.
 * Empty when nothing is planned any more.
 */
export function scheduleLines(slots: Slot[], groupZone: string, r: Reader): string[] {
  const [next] = nextOccurrences(slots, groupZone, r.nowMs, 1);
  if (!next) return [];
  const coming = slots.filter((s) => slotOccurrences(s, 0, zoneOr(groupZone), r.nowMs, 1).length);
  const lines = [nextWords(next, r)];
  for (const s of coming) if (s.weekly || coming.length > 1) lines.push(slotWords(s, groupZone, r));
  if (zoneOr(groupZone) !== r.zone) lines.push(st("planLocal", {}, r.lang));
  return lines;
}
