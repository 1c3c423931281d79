// The connection loop when the device comes back online (the page's "online" event calls
// reconnectNow()). The event can come while an attempt started offline is still failing: that attempt
// must not be followed by a pause, or someone back online waits up to the longest backoff (30 s) for
// nothing. Same core as the page, against the real relay behind a TCP gate this test controls.
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, test } from "node:test";
import { MemoryStore, Messenger } from "../build-node/core.mjs";
import { eventually, startServer } from "./support.mjs";

let server;
let gate;
const people = [];

/**
 * A TCP gate in front of the relay. "up" joins each connection to the relay; "hold" accepts it and
 * keeps it silent (an attempt that neither succeeds nor fails yet), until release() closes it.
 */
function openGate(port) {
  const state = { mode: "up", held: [], open: new Set() };
  const srv = net.createServer((c) => {
    c.on("error", () => {});
    state.open.add(c);
    c.on("close", () => state.open.delete(c));
    if (state.mode === "hold") {
      state.held.push(c);
      return;
    }
    const up = net.connect(port, "127.0.0.1");
    up.on("error", () => c.destroy());
    c.on("close", () => up.destroy());
    up.on("close", () => c.destroy());
    c.pipe(up).pipe(c);
  });
  return new Promise((resolve) => {
    srv.listen(0, "127.0.0.1", () => {
      resolve({
        state,
        url: `ws://127.0.0.1:${srv.address().port}/ws`,
        /** Closes every connection through the gate (the device lost its network). */
        dropAll() {
          for (const c of state.open) c.destroy();
        },
        release() {
          for (const c of state.held.splice(0)) c.destroy();
        },
        close() {
          this.dropAll();
          return new Promise((r) => srv.close(r));
        },
      });
    });
  });
}

before(async () => {
  server = await startServer({ registration: "open" });
  gate = await openGate(Number(new URL(server.url).port));
});

after(async () => {
  for (const m of people) m.stop();
  await gate?.close();
  await server?.stop();
});

test("back online during a failing attempt: no pause after it, connected again at once", async () => {
  const m = await Messenger.load({ url: gate.url, store: new MemoryStore(), clientName: "cercle-test" });
  people.push(m);
  await m.register("retour.node");
  assert.ok(await m.waitOnline(10_000));

  // The network goes; the loop's next attempt hangs in the gate.
  gate.state.mode = "hold";
  gate.dropAll();
  await eventually("an attempt is under way", async () => m.state === "connecting" && gate.state.held.length === 1, 15_000);

  // Back online while that attempt is still under way; then the attempt fails.
  const states = [];
  m.onState(() => states.push(m.state));
  m.reconnectNow();
  gate.state.mode = "up";
  gate.release();
  await eventually("online again", async () => m.state === "online", 10_000);
  assert.deepEqual(
    states.filter((s) => s !== "connecting"),
    ["online"],
    "the failed attempt is followed by a new one, not by a pause offline",
  );
});
