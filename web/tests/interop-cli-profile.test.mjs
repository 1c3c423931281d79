// A group's name and description between the web client core (under node) and the C++ command-line
// client `cercle` (CERCLE_CLI), against the real relay: both write and read the same bytes (0x00 ||
// AppContent{SignedGroupProfile}, signed "cercle-profile-v1" by a facilitator's leaf key; web
// src/core/profile.ts, client/sdk/client_profile.cpp). A web facilitator names a group and renames
// it: the CLI member reads each; a CLI facilitator names a group and adds a web member: the web
// member reads the name from the profile the adder hands on. Each CLI command is a child process
// with a time limit.
import assert from "node:assert/strict";
import { test } from "node:test";
import { facilitator as f, groupKey } from "../build-node/core.mjs";
import { cliUser, webUser } from "./cli-support.mjs";
import { eventually, serverFor } from "./support.mjs";

test("a web facilitator names and renames a group: the CLI member reads both", async (t) => {
  const server = await serverFor(t, { registration: "invite-code", codes: 2 });
  const anim = await webUser(t, server, "web.anim", server.codes[0], "cercle-test-profile");
  const member = cliUser(t, server, "membre", "cli-profile");
  await member.ok(["register", "cli.membre", "--code", server.codes[1]]);
  const id = await eventually("the group is created", () => f.fac(anim).createGroup({ name: "Les Lucioles", description: "Parler du sommeil." }, ["cli.membre"]).catch(() => null), 30_000);
  const [rules] = await member.ok(["group", "policy", id]);
  assert.deepEqual([rules.name, rules.description, rules.facilitators], ["Les Lucioles", "Parler du sommeil.", ["web.anim"]]);
  await f.fac(anim).setProfile(id, "Les Lucioles du soir", "");
  const [after] = await member.ok(["group", "policy", id]);
  assert.deepEqual([after.name, after.description], ["Les Lucioles du soir", ""]);
});

test("a CLI facilitator names a group and adds a web member: the web member reads the name", async (t) => {
  const server = await serverFor(t, { registration: "invite-code", codes: 2 });
  const anim = cliUser(t, server, "anim", "cli-profile");
  await anim.ok(["register", "cli.anim", "--code", server.codes[0]]);
  const web = await webUser(t, server, "web.membre", server.codes[1], "cercle-test-profile");
  const [{ conversation }] = await anim.ok(["group", "create", "--name", "Le Phare", "--description", "Un groupe du jeudi."]);
  await anim.ok(["group", "add", conversation, "web.membre"]);
  await eventually("the web member reads the name", () => web.groupView(groupKey(conversation))?.name === "Le Phare", 20_000);
  assert.equal(web.groupView(groupKey(conversation)).description, "Un groupe du jeudi.");
  assert.deepEqual(f.profileOf(web, conversation), { name: "Le Phare", description: "Un groupe du jeudi.", version: 1 });
  // Its thread is titled by the name, and the profile is no message.
  assert.equal(web.threads().find((th) => th.peer === groupKey(conversation)).name, "Le Phare");
  assert.deepEqual((await f.groupMessages(web, conversation)).filter((m) => !m.event), []);
});
