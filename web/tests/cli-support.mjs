// Test support for the tests that drive the C++ command-line client `cercle` (CERCLE_CLI) next to the
// web client's core under node, against the real relay. Every CLI command is a child process with a
// time limit.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryStore, Messenger } from "../build-node/core.mjs";
import { WEB } from "./support.mjs";

export function cliBinary() {
  const candidates = [process.env.CERCLE_CLI, join(WEB, "../build/bin/cercle"), join(WEB, "../build-web/bin/cercle")];
  const found = candidates.find((p) => p && existsSync(p));
  if (!found) throw new Error("cercle (the CLI) not found: build the cmake target `cercle`, or set CERCLE_CLI");
  return found;
}

/** A CLI user with its own data folder; `ok` runs `cercle --json ARGS` (bounded) and returns its JSON lines. */
export function cliUser(t, server, name, tag = "cli") {
  const dir = mkdtempSync(join(tmpdir(), `cercle-${tag}-${name}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const env = { ...process.env, CERCLE_PASSPHRASE: `phrase de test de ${name}` };
  return {
    ok(args, timeoutMs = 30_000) {
      const argv = ["--server", server.ws, "--data", dir, "--json", ...args];
      return new Promise((resolve, reject) => {
        execFile(cliBinary(), argv, { env, timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
          if (err) return reject(new Error(`cercle ${args.join(" ")}: ${err.killed ? "killed" : `exit ${err.code}`}: ${stderr.trim()}`));
          resolve(stdout.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l)));
        });
      });
    },
  };
}

/** A web client core under node (memory store), registered with `code` and online. */
export async function webUser(t, server, handle, code, clientName = "cercle-test") {
  const m = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName, keyPackageStock: 3 });
  t.after(() => m.stop());
  await m.register(handle, { code });
  assert.ok(await m.waitOnline(10_000));
  return m;
}
