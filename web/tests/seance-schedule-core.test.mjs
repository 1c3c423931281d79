// A group's planned séances (src/core/seance-schedule.ts) and their words (src/ui/seance-when.ts),
// under node: a weekly séance keeps its hour in the group's zone (Europe/Paris) across both changes
// of time; a member in Martinique (no summer time) or in Nouméa (UTC+11, the next day) reads the
// hour of their own clocks, which moves by an hour when Paris changes; one-off séances over are no
// longer told; what a facilitator types is read on their clocks; French and English words.
import assert from "node:assert/strict";
import { test } from "node:test";
import { seanceSchedule as sc, seanceWhen as w } from "../build-node/core.mjs";

const PARIS = "Europe/Paris";
const HOUR = 3600_000;
const WEEK = 7 * 24 * HOUR;
// Tuesday 8 December 2026, 18:30 in Paris (UTC+1): 17:30 UTC.
const TUESDAY = Date.UTC(2026, 11, 8, 17, 30);
const weekly = { startMs: TUESDAY, minutes: 90, weekly: true };
const DEC_1 = Date.UTC(2026, 11, 1, 9, 0);
const APRIL_1 = Date.UTC(2027, 3, 1, 9, 0);  // Paris is on summer time (UTC+2) since 28 March.
const reader = (zone, nowMs, lang = "fr") => ({ zone, nowMs, lang });
// Hours and lengths hold no-break spaces ("18 h 30" is never cut); compared here with plain ones.
const plain = (text) => text.replace(/\u00a0/g, " ");
const lines = (...args) => w.scheduleLines(...args).map(plain);

test("a weekly séance keeps 18:30 in Paris all year, across both changes of time", () => {
  const starts = sc.slotOccurrences(weekly, 0, PARIS, TUESDAY, 53).map((o) => o.startMs);
  assert.equal(starts.length, 53);
  for (const ms of starts) assert.deepEqual([sc.wallTime(PARIS, ms).weekday, sc.wallTime(PARIS, ms).hour, sc.wallTime(PARIS, ms).minute], [2, 18, 30]);
  // Before 28 March 2027 a week is 168 h; the week across it is an hour shorter, the one across 31 October an hour longer.
  assert.equal(sc.occurrenceStart(weekly, PARIS, 15), Date.UTC(2027, 2, 23, 17, 30));
  assert.equal(sc.occurrenceStart(weekly, PARIS, 16), Date.UTC(2027, 2, 30, 16, 30));
  assert.equal(sc.occurrenceStart(weekly, PARIS, 16) - sc.occurrenceStart(weekly, PARIS, 15), WEEK - HOUR);
  assert.equal(sc.occurrenceStart(weekly, PARIS, 47) - sc.occurrenceStart(weekly, PARIS, 46), WEEK + HOUR);
  assert.equal(sc.occurrenceStart(weekly, PARIS, 47), Date.UTC(2027, 10, 2, 17, 30));
  // A zone Intl does not know: the séance comes back every 168 h (UTC).
  assert.equal(sc.nextOccurrences([weekly], "Mars/Olympus", APRIL_1, 1)[0].startMs, TUESDAY + 17 * WEEK);
});

test("the next séances: the earliest first, a running one included, one-off séances over dropped", () => {
  const once = { startMs: Date.UTC(2026, 11, 10, 17, 0), minutes: 60, weekly: false };
  const next = sc.nextOccurrences([weekly, once], PARIS, DEC_1, 3);
  assert.deepEqual(next.map((o) => [o.startMs, o.slot]), [[TUESDAY, 0], [once.startMs, 1], [TUESDAY + WEEK, 0]]);
  // During the séance of 8 December (until 20:00 Paris) it is still the next one; after, the 15th.
  assert.equal(sc.nextOccurrences([weekly, once], PARIS, TUESDAY + 80 * 60_000, 1)[0].startMs, TUESDAY);
  assert.equal(sc.nextOccurrences([weekly], PARIS, TUESDAY + 90 * 60_000, 1)[0].startMs, TUESDAY + WEEK);
  assert.deepEqual(sc.nextOccurrences([once], PARIS, once.startMs + HOUR, 1), []);
  // The words change when the next séance starts, then when it ends.
  assert.equal(sc.nextChange([weekly, once], PARIS, DEC_1), TUESDAY);
  assert.equal(sc.nextChange([weekly], PARIS, TUESDAY + 60_000), TUESDAY + 90 * 60_000);
  assert.equal(sc.nextChange([once], PARIS, once.startMs + HOUR), undefined);
});

test("in French, in Paris: the next séance and the weekly one in plain words", () => {
  assert.deepEqual(lines([weekly], PARIS, reader(PARIS, DEC_1)), [
    "Prochaine séance : mardi 8 décembre à 18 h 30, pendant 1 h 30.",
    "Chaque mardi à 18 h 30, pendant 1 h 30.",
  ]);
  const once = { startMs: Date.UTC(2027, 0, 12, 17, 0), minutes: 120, weekly: false };
  assert.deepEqual(lines([once], PARIS, reader(PARIS, DEC_1)), ["Prochaine séance : mardi 12 janvier 2027 à 18 h, pendant 2 h."]);
  assert.deepEqual(lines([once], PARIS, reader(PARIS, once.startMs + HOUR)), ["Une séance est prévue en ce moment, jusqu'à 20 h."]);
  assert.deepEqual(lines([once], PARIS, reader(PARIS, once.startMs + 2 * HOUR)), []);
  assert.equal(w.durationWords(45, "fr"), "45\u00a0min");
  assert.equal(w.durationWords(90, "fr"), "1\u00a0h\u00a030");
});

test("a member in Martinique reads 13 h 30 in winter and 12 h 30 once Paris is on summer time", () => {
  const zone = "America/Martinique";
  assert.deepEqual(lines([weekly], PARIS, reader(zone, DEC_1)), [
    "Prochaine séance : mardi 8 décembre à 13 h 30, pendant 1 h 30.",
    "Chaque mardi à 13 h 30, pendant 1 h 30.",
    "Les heures sont celles de chez vous.",
  ]);
  assert.deepEqual(lines([weekly], PARIS, reader(zone, APRIL_1)).slice(0, 2), [
    "Prochaine séance : mardi 6 avril à 12 h 30, pendant 1 h 30.",
    "Chaque mardi à 12 h 30, pendant 1 h 30.",
  ]);
});

test("a member in Nouméa reads Wednesday morning, an hour earlier in the northern summer", () => {
  const zone = "Pacific/Noumea";
  assert.deepEqual(lines([weekly], PARIS, reader(zone, DEC_1)).slice(0, 2), [
    "Prochaine séance : mercredi 9 décembre à 4 h 30, pendant 1 h 30.",
    "Chaque mercredi à 4 h 30, pendant 1 h 30.",
  ]);
  assert.equal(lines([weekly], PARIS, reader(zone, APRIL_1))[1], "Chaque mercredi à 3 h 30, pendant 1 h 30.");
});

test("in English", () => {
  assert.deepEqual(lines([weekly], PARIS, reader(PARIS, DEC_1, "en")), [
    "Next session: Tuesday 8 December at 6:30 PM, for 1 h 30 min.",
    "Every Tuesday at 6:30 PM, for 1 h 30 min.",
  ]);
});

test("what a facilitator types is read on their clocks; a day or an hour that is not one is refused", () => {
  assert.deepEqual(sc.slotFrom(PARIS, "2026-12-08", "18:30", 90, true), weekly);
  assert.equal(sc.slotFrom(PARIS, "2027-03-28", "03:30", 60, false).startMs, Date.UTC(2027, 2, 28, 1, 30));
  assert.equal(sc.slotFrom(PARIS, "2027-03-28", "01:30", 60, false).startMs, Date.UTC(2027, 2, 28, 0, 30));
  assert.equal(sc.slotFrom("America/Martinique", "2026-12-08", "13:30", 90, true).startMs, TUESDAY);
  assert.equal(sc.slotFrom("Pacific/Noumea", "2026-12-09", "04:30", 90, true).startMs, TUESDAY);
  for (const [date, hour, minutes] of [["2026-02-30", "18:30", 60], ["2026-12-08", "24:00", 60], ["8/12/2026", "18:30", 60], ["2026-12-08", "18:30", 0], ["2026-12-08", "18:30", 1441]]) {
    assert.equal(sc.slotFrom(PARIS, date, hour, minutes, false), undefined, `${date} ${hour} ${minutes}`);
  }
});
