// Reports between the web client and the C++ SDK (the `cercle` CLI), both ways, against the real
// relay: a web member's report (signed, sealed to the CLI facilitator device's report key 0xF0A2)
// is opened by the CLI, which prints it; a CLI member's report is opened, checked and kept by a web
// facilitator's device (the web client core under node). Each CLI command is one bounded process.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { facilitator as f, groupKey, MemoryStore, Messenger, reports as r } from "../build-node/core.mjs";
import { WEB, eventually, serverFor } from "./support.mjs";

function cliBinary() {
  const candidates = [process.env.CERCLE_CLI, join(WEB, "../build/bin/cercle")];
  const found = candidates.find((p) => p && existsSync(p));
  if (!found) throw new Error("cercle (the CLI) not found: build the cmake target `cercle`, or set CERCLE_CLI");
  return found;
}

/** A CLI user: `ok(args)` runs `cercle --json ARGS`, must succeed, and gives its JSON lines. */
async function cliUser(t, server, handle, code) {
  const dir = mkdtempSync(join(tmpdir(), "cercle-cli-reports-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const env = { ...process.env, CERCLE_PASSPHRASE: `phrase de test de ${handle}` };
  const ok = (args, timeoutMs = 30_000) =>
    new Promise((resolve, reject) => {
      const argv = ["--server", server.ws, "--data", dir, "--json", ...args];
      execFile(cliBinary(), argv, { env, timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
        if (err) return reject(new Error(`cercle ${args.join(" ")}: exit ${err.killed ? "killed" : err.code}: ${stderr.trim()}`));
        resolve(stdout.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l)));
      });
    });
  await ok(["register", handle, "--code", code]);
  return { ok };
}

async function webUser(t, server, handle, code) {
  const m = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "cercle-test-reports-cli", keyPackageStock: 3 });
  t.after(() => m.stop());
  await m.register(handle, { code });
  assert.ok(await m.waitOnline(10_000));
  await eventually(`${handle}'s key packages`, async () => (await f.wireOf(m).call({ case: "countKeyPackages", value: {} }, "countKeyPackages")).hasLastResort);
  return m;
}

test("a web member's report is opened by the CLI facilitator", async (t) => {
  const server = await serverFor(t, { registration: "invite-code", codes: 3 });
  const anim = await cliUser(t, server, "cli.anim", server.codes[0]);
  const pair = await cliUser(t, server, "cli.pair", server.codes[1]);
  const web = await webUser(t, server, "web.membre", server.codes[2]);
  const [{ conversation: id }] = await anim.ok(["group", "create"]);
  await anim.ok(["group", "add", id, "web.membre"]);
  await anim.ok(["group", "add", id, "cli.pair"]);
  await eventually("web.membre holds the group", () => f.holdsGroup(web, id), 30_000);
  // The CLI facilitator's leaf carries its report key: the web member seals to it.
  const leaves = await eventually("web.membre sees cli.anim's leaf", async () => (await r.leafReportKeys(web, id)).find((l) => l.handle === "cli.anim"));
  assert.equal(leaves.reportKey?.length, 32);
  const [{ seq }] = await pair.ok(["send", id, "Un message blessant."]);
  const msg = await eventually("web.membre reads it", async () => (await f.groupMessages(web, id)).find((m) => m.text === "Un message blessant."));
  await web.reportMessage(groupKey(id), msg.key, "Il se moque de moi.");
  const lines = await anim.ok(["listen", "--timeout", "3"], 30_000);
  const reports = lines.filter((l) => typeof l.event === "string" && l.event.startsWith("signalement"));
  assert.deepEqual(reports, [{ conversation: id, event: `signalement de web.membre sur le message #${seq} (« Un message blessant. ») : Il se moque de moi.` }]);
});

test("a CLI member's report is opened, checked and kept by the web facilitator's device", async (t) => {
  const server = await serverFor(t, { registration: "invite-code", codes: 3 });
  const anim = await webUser(t, server, "web.anim", server.codes[0]);
  const member = await cliUser(t, server, "cli.membre", server.codes[1]);
  const other = await webUser(t, server, "web.pair", server.codes[2]);
  const id = await eventually("the group is created", () => f.createGroup(anim, {}, ["cli.membre", "web.pair"]).catch(() => null), 30_000);
  await eventually("web.pair holds the group", () => f.holdsGroup(other, id), 30_000);
  await other.sendText(groupKey(id), "Un message déplacé.");
  const sent = await eventually("the message is sent", async () => (await f.groupMessages(other, id)).find((m) => m.text === "Un message déplacé." && m.seq > 0));
  await member.ok(["history", id]);  // The CLI member catches up (it reads the message).
  await member.ok(["group", "report", id, String(sent.seq), "Ce n'est pas correct."]);
  const kept = await eventually("web.anim keeps the report", async () => (await r.kept(anim, id))[0], 30_000);
  assert.deepEqual([kept.reporter, kept.seq, kept.text, kept.reason], ["cli.membre", sent.seq, "Un message déplacé.", "Ce n'est pas correct."]);
});
