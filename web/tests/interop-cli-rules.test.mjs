// A web facilitator changes the rules of a groupe de parole that a `cercle` (C++ command-line) user
// belongs to, and the C++ client follows (docs/SECURITY.md: the deviation from RFC 9420 12.4).
// The web client's MLS library (ts-mls 1.6) commits a change of the rules — a GroupContextExtensions
// proposal carrying the group's policy, 0xF0A0 — without an UpdatePath; the C++ State used to
// refuse such a commit, leaving its member behind. The facilitator here is the web client core
// under node (src/testing/facilitator.ts), against the real relay; the member is the real CLI,
// one process per command, each command bounded.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { facilitator as f, MemoryStore, Messenger } from "../build-node/core.mjs";
import { WEB, eventually, serverFor } from "./support.mjs";

function cliBinary() {
  const candidates = [process.env.CERCLE_CLI, join(WEB, "../build/bin/cercle"), join(WEB, "../build-web/bin/cercle")];
  const found = candidates.find((p) => p && existsSync(p));
  if (!found) throw new Error("cercle (the CLI) not found: build the cmake target `cercle`, or set CERCLE_CLI");
  return found;
}

/** Runs `cercle --json ARGS` for a user; resolves with the exit code and output, whatever the code. */
function cli(user, args, timeoutMs = 30_000) {
  const argv = ["--server", user.server.ws, "--data", user.dir, "--json", ...args];
  return new Promise((resolve) => {
    execFile(cliBinary(), argv, { env: user.env, timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.killed ? `killed after ${timeoutMs} ms` : err.code) : 0, stdout, stderr });
    });
  });
}

/** Runs a command that must succeed; returns its JSON lines. */
async function ok(user, args) {
  const r = await cli(user, args);
  if (r.code !== 0) throw new Error(`cercle ${args.join(" ")}: exit ${r.code}: ${r.stderr.trim()}`);
  return r.stdout.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
}

test("a web facilitator mutes a CLI member and changes the charter: the C++ client follows the pathless commit", async (t) => {
  const server = await serverFor(t, { registration: "invite-code", codes: 2 });
  const anim = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "cercle-test-rules", keyPackageStock: 3 });
  t.after(() => anim.stop());
  await anim.register("web.anim", { code: server.codes[0] });
  assert.ok(await anim.waitOnline(10_000));
  const member = { server, dir: mkdtempSync(join(tmpdir(), "cercle-cli-rules-")), env: { ...process.env, CERCLE_PASSPHRASE: "phrase de test du membre" } };
  t.after(() => rmSync(member.dir, { recursive: true, force: true }));
  assert.equal((await ok(member, ["register", "cli.membre", "--code", server.codes[1]]))[0].handle, "cli.membre");

  const id = await eventually("the group is created", () => f.createGroup(anim, { charter: "Première charte." }, ["cli.membre"]).catch(() => null), 30_000);
  const texts = async () => (await f.groupMessages(anim, id)).filter((m) => !m.event).map((m) => [m.sender, m.text]);
  await ok(member, ["send", id, "Bonjour, je suis arrivé."]);
  await eventually("the facilitator reads the member", async () => (await texts()).some(([, text]) => text === "Bonjour, je suis arrivé."));

  // A change of the rules from the web client: the commit carries no UpdatePath.
  const before = await f.epoch(anim, id);
  await f.setRules(anim, id, (p) => {
    p.muted.push("cli.membre");
    p.charter = "Deuxième charte : on s'écoute.";
  });
  assert.equal(await f.epoch(anim, id), before + 1n);
  const [rules] = await ok(member, ["group", "policy", id]);
  assert.deepEqual([rules.charter, rules.muted, rules.facilitators], ["Deuxième charte : on s'écoute.", ["cli.membre"], ["web.anim"]]);

  // Muted: the relay refuses the member's next message (encrypted in the new epoch).
  const refused = await cli(member, ["send", id, "Je parle quand même."]);
  assert.equal(refused.code, 5, refused.stderr);
  assert.match(refused.stderr, /you are muted in this group/);

  // Unmuted by a second pathless commit, the member writes again and the facilitator reads it.
  await f.setRules(anim, id, (p) => {
    p.muted = [];
  });
  const [after] = await ok(member, ["group", "policy", id]);
  assert.deepEqual(after.muted, []);
  await ok(member, ["send", id, "Merci, je reprends la parole."]);
  await eventually("the facilitator reads the member again", async () => (await texts()).some(([, text]) => text === "Merci, je reprends la parole."));
  const history = await ok(member, ["history", id]);
  assert.deepEqual(
    history.map((m) => [m.sender, m.text]),
    [["cli.membre", "Bonjour, je suis arrivé."], ["cli.membre", "Merci, je reprends la parole."]],
  );
});
