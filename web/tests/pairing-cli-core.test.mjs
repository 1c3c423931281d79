// Pairing across clients (issue 11, defect 4): the web core under node and the C++ command-line
// client `cercle` (path in CERCLE_CLI) approve each other's new devices with the same code, against
// the real relay: a CLI device joins a web account (a wrong code refused first, nothing added) and
// a web device joins a CLI account. Both then list the same chain. Every CLI command is a child
// process with a time limit.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { devices, MemoryStore, Messenger } from "../build-node/core.mjs";
import { WEB, eventually, startServer, within } from "./support.mjs";

let server;
const people = [];
const dirs = [];

function cliBinary() {
  const candidates = [process.env.CERCLE_CLI, join(WEB, "../build/bin/cercle"), join(WEB, "../build-web/bin/cercle")];
  const found = candidates.find((p) => p && existsSync(p));
  if (!found) throw new Error("cercle (the CLI) not found: build the cmake target `cercle`, or set CERCLE_CLI");
  return found;
}

/** A `cercle` device: its own data folder; `run` for one command, `start` for a long one. */
function cliDevice(name) {
  const dir = mkdtempSync(join(tmpdir(), "cercle-cli-pairing-"));
  dirs.push(dir);
  const env = { ...process.env, CERCLE_PASSPHRASE: `phrase de test de ${name}` };
  const argv = (args) => ["--server", server.ws, "--data", dir, "--json", ...args];
  const lines = (text) => text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
  return {
    run(args, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        execFile(cliBinary(), argv(args), { env, timeout: timeoutMs, killSignal: "SIGKILL" }, (err, stdout, stderr) => {
          if (err) reject(new Error(`cercle ${args.join(" ")}: ${err.killed ? "killed" : err.code}: ${stderr.trim()}`));
          else resolve(lines(stdout));
        });
      });
    },
    /** A running command: its JSON lines as they come, and its exit. */
    start(args, timeoutMs = 60_000) {
      const child = spawn(cliBinary(), argv(args), { env, stdio: ["ignore", "pipe", "pipe"] });
      const out = { lines: [], stderr: "" };
      let buffer = "";
      child.stdout.on("data", (d) => {
        buffer += d;
        const parts = buffer.split("\n");
        buffer = parts.pop();
        for (const p of parts) if (p.trim()) out.lines.push(JSON.parse(p));
      });
      child.stderr.on("data", (d) => (out.stderr += d));
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      out.exit = new Promise((resolve) => child.on("exit", (code) => (clearTimeout(timer), resolve(code))));
      return out;
    },
  };
}

async function webPerson(handle) {
  const m = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "cercle-test-pairing-cli", keyPackageStock: 3 });
  await m.register(handle);
  assert.ok(await m.waitOnline(10_000));
  people.push(m);
  return m;
}

before(async () => {
  cliBinary();
  server = await startServer({ registration: "open" });
});

after(async () => {
  for (const m of people) m.stop();
  await server?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test("a CLI device joins a web account with the code it shows; a wrong code adds nothing", async () => {
  const wanda = await webPerson("Wanda");
  const cli = cliDevice("wanda-cli");
  const asking = cli.start(["device", "request", "Wanda"]);
  const request = await eventually("the web device sees the request", async () => (await wanda.deviceRequests())[0]);
  const approval = await within(20_000, "the CLI's nonce", wanda.startApproval(request));
  const shown = await eventually("the CLI shows its code", () => asking.lines.find((l) => l.code)?.code);
  assert.match(shown, /^\d{3} \d{3}$/);
  const wrong = shown.replace(/^\d/, (d) => String((Number(d) + 1) % 10));
  await assert.rejects(wanda.finishApproval(approval, wrong), (e) => e instanceof devices.WrongPairingCode);
  assert.equal((await wanda.ownDevices()).length, 1);
  await wanda.finishApproval(approval, shown);
  assert.equal(await within(30_000, "the CLI to finish", asking.exit), 0, asking.stderr);
  assert.deepEqual(asking.lines.at(-1), { handle: "Wanda", approved: true });
  // Both sides list the same chain: the same two devices.
  const fromWeb = (await wanda.ownDevices()).map((d) => d.fingerprint).sort();
  const fromCli = (await cli.run(["devices"])).map((d) => d.fingerprint).sort();
  assert.equal(fromWeb.length, 2);
  assert.deepEqual(fromCli, fromWeb);
});

test("a web device joins a CLI account with the code it shows", async () => {
  const cli = cliDevice("carl");
  const [registered] = await cli.run(["register", "Carl"]);
  assert.equal(registered.handle, "Carl");
  const fresh = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "cercle-test-pairing-cli", keyPackageStock: 3 });
  people.push(fresh);
  let shown;
  const joined = fresh.joinAccount("Carl", { onCode: (c) => (shown = c) });
  joined.catch(() => {});
  const id = await eventually("the CLI lists the request", async () => (await cli.run(["device", "requests"]))[0]?.request);
  await cli.run(["device", "approve", id]);
  await eventually("the web device shows its code", () => shown);
  await cli.run(["device", "approve", id, shown]);
  await within(20_000, "the web device to join", joined);
  assert.ok(await fresh.waitOnline(10_000));
  assert.equal(fresh.account.handle, "Carl");
  const fromWeb = (await fresh.ownDevices()).map((d) => d.fingerprint).sort();
  const fromCli = (await cli.run(["devices"])).map((d) => d.fingerprint).sort();
  assert.equal(fromWeb.length, 2);
  assert.deepEqual(fromCli, fromWeb);
});
