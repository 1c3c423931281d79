// A group's planned séances between the web client core (under node) and the C++ command-line
// client `cercle` (CERCLE_CLI), against the real relay: both keep them in the group's signed profile
// (GroupProfile.schedule and time_zone; web src/core/seances.ts setSchedule, client/sdk/
// client_profile.cpp set_seance_schedule). A web facilitator plans a weekly séance, then removes it:
// the CLI member reads each; a CLI facilitator plans one: the web member reads the same slot and
// zone, and its words on a Martinique clock. Each CLI command is a child process with a time limit.
import assert from "node:assert/strict";
import { test } from "node:test";
import { facilitator as f, groupKey, seanceWhen } from "../build-node/core.mjs";
import { cliUser, webUser } from "./cli-support.mjs";
import { eventually, serverFor } from "./support.mjs";

// Tuesday 8 December 2026, 18:30 in Paris.
const START_MS = Date.UTC(2026, 11, 8, 17, 30);

test("a web facilitator plans a weekly séance and removes it: the CLI member reads both", async (t) => {
  const server = await serverFor(t, { registration: "invite-code", codes: 2 });
  const anim = await webUser(t, server, "web.anim", server.codes[0], "cercle-test-schedule");
  const member = cliUser(t, server, "membre", "cli-schedule");
  await member.ok(["register", "cli.membre", "--code", server.codes[1]]);
  const id = await eventually("the group is created", () => f.fac(anim).createGroup({ name: "Le mardi", description: "" }, ["cli.membre"]).catch(() => null), 30_000);
  const seances = await anim.seances();
  await seances.setSchedule(id, [{ startMs: START_MS, minutes: 90, weekly: true }], "Europe/Paris");
  const [planned] = await member.ok(["group", "seance", "show", id]);
  assert.deepEqual(planned.schedule, [{ start_ms: START_MS, minutes: 90, weekly: true }]);
  // The name is kept.
  const [rules] = await member.ok(["group", "policy", id]);
  assert.equal(rules.name, "Le mardi");
  await seances.setSchedule(id, [], "Europe/Paris");
  const [removed] = await member.ok(["group", "seance", "show", id]);
  assert.deepEqual(removed.schedule, []);
});

test("a CLI facilitator plans a weekly séance: the web member reads it on its own clocks", async (t) => {
  const server = await serverFor(t, { registration: "invite-code", codes: 2 });
  const anim = cliUser(t, server, "anim", "cli-schedule");
  await anim.ok(["register", "cli.anim", "--code", server.codes[0]]);
  const web = await webUser(t, server, "web.membre", server.codes[1], "cercle-test-schedule");
  const [{ conversation }] = await anim.ok(["group", "create", "--name", "Le Phare"]);
  await anim.ok(["group", "add", conversation, "web.membre"]);
  await anim.ok(["group", "seance", "schedule", conversation, "--at", "2026-12-08T18:30+01:00", "--minutes", "90", "--weekly", "--zone", "Europe/Paris"]);
  const view = await eventually("the web member reads the schedule", () => (web.seanceView(groupKey(conversation))?.planned.length ? web.seanceView(groupKey(conversation)) : null), 20_000);
  assert.deepEqual([view.planned, view.zone, view.rules], [[{ startMs: START_MS, minutes: 90, weekly: true }], "Europe/Paris", false]);
  const inMartinique = { zone: "America/Martinique", lang: "fr", nowMs: Date.UTC(2026, 11, 1) };
  assert.deepEqual(seanceWhen.scheduleLines(view.planned, view.zone, inMartinique).map((l) => l.replace(/\u00a0/g, " ")), [
    "Prochaine séance : mardi 8 décembre à 13 h 30, pendant 1 h 30.",
    "Chaque mardi à 13 h 30, pendant 1 h 30.",
    "Les heures sont celles de chez vous.",
  ]);
  // The web member may not plan: refused before anything is sent.
  await assert.rejects((await web.seances()).setSchedule(conversation, [], "Europe/Paris"), { name: "ScheduleRefused", why: "notFacilitator" });
});
