// Battery while the page is hidden (issue 15, item 5), in Chromium against the real relay: the page
// really hidden (another tab in front, document.visibilityState "hidden", checked), every timer
// callback of the page counted by an init script wrapping setTimeout and setInterval. Over a hidden
// period the test measures, no more callbacks than the rule allows (none more often than the relay's
// idle ping, half the idle timeout the hello gives); a device request made meanwhile is drawn when the
// page comes back in view, by the return itself: no timer ran between the return and the drawing.
//
// Playwright's own browser contexts emulate focus, which keeps every page visible; so this file starts
// Debian's Chromium itself (DevTools on 127.0.0.1, a temporary profile) and drives its default
// context over the DevTools protocol without that override (connectOverCDP, noDefaults). Background
// timer throttling is off, so the count is what the page asks for, not what Chromium allows.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { chromium } from "playwright-core";
import { MemoryStore, Messenger } from "../build-node/core.mjs";
import { CHROMIUM, eventually, registerInPage, serverFor, within } from "./support.mjs";

/** How long the page stays hidden while its timers are counted. */
const HIDDEN_MS = 10_000;

/** A Chromium of this test's own, whose tabs hide one another; its default context. */
async function chromiumWithTabs(t) {
  const profile = mkdtempSync(join(tmpdir(), "cercle-battery-"));
  const args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-timer-throttling", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", `--user-data-dir=${profile}`, "about:blank"];
  const child = spawn(CHROMIUM, args, { stdio: ["ignore", "ignore", "pipe"] });
  const exited = new Promise((r) => child.once("exit", r));
  t.after(async () => {
    child.kill();
    await within(10_000, "Chromium to stop", exited).catch(() => child.kill("SIGKILL"));
    rmSync(profile, { recursive: true, force: true });
  });
  const endpoint = await within(30_000, "Chromium's DevTools address", new Promise((resolve, reject) => {
    let err = "";
    child.stderr.on("data", (d) => {
      err += d;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]);
    });
    child.once("exit", (code) => reject(new Error(`Chromium exited with ${code}: ${err.slice(-2000)}`)));
  }));
  const browser = await chromium.connectOverCDP(endpoint, { noDefaults: true, isLocal: true, timeout: 30_000 });
  t.after(() => browser.close().catch(() => {}));
  const context = browser.contexts()[0];
  context.setDefaultTimeout(15_000);
  return context;
}

/**
 * Runs in the page before its code: every callback of setTimeout and setInterval is logged with the
 * time, whether the page was hidden, and its first words; visibility changes are logged; and the
 * first time a device request is drawn ("ul.requests") is noted, with how many callbacks ran before.
 */
function countTimers() {
  const log = (window.__battery = { fired: [], changes: [], requestShown: undefined });
  for (const name of ["setTimeout", "setInterval"]) {
    const original = window[name];
    window[name] = function (fn, ms, ...rest) {
      if (typeof fn !== "function") return original.call(this, fn, ms, ...rest);
      const what = `${name}(${ms}): ${String(fn).replace(/\s+/g, " ").slice(0, 100)}`;
      const counted = function (...a) {
        log.fired.push({ at: performance.now(), hidden: document.visibilityState === "hidden", what });
        return fn.apply(this, a);
      };
      return original.call(this, counted, ms, ...rest);
    };
  }
  document.addEventListener("visibilitychange", () => log.changes.push({ at: performance.now(), state: document.visibilityState }));
  new MutationObserver(() => {
    if (log.requestShown || !document.querySelector("ul.requests li")) return;
    log.requestShown = { at: performance.now(), hidden: document.visibilityState === "hidden", firedBefore: log.fired.length };
  }).observe(document, { childList: true, subtree: true });
}

test("hidden, the page wakes no more often than the idle ping; back in view, a device request made meanwhile is drawn at once", async (t) => {
  const server = await serverFor(t, { registration: "open" });
  // The relay pings a quiet connection after half its idle timeout: the rule's period.
  const probe = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "cercle-test-battery" });
  const idle = (await probe.connectAnonymous()).limits.idleTimeoutS;
  probe.stop();
  assert.ok(idle >= 5, `the hello gives the idle timeout (${idle} s)`);
  const pingMs = idle * 500;
  // Each timer may fire at most once per ping period while hidden: over HIDDEN_MS, one periodic
  // timer fires at most ceil(HIDDEN_MS / pingMs) times. The page keeps one (pruning, every 60 s).
  const allowed = Math.ceil(HIDDEN_MS / pingMs);

  const context = await chromiumWithTabs(t);
  await context.addInitScript(countTimers);
  const page = context.pages()[0];
  await page.setViewportSize({ width: 360, height: 740 });
  const problems = [];
  page.on("pageerror", (e) => problems.push(String(e)));
  await registerInPage(page, server.url, "Batterie");
  await page.getByRole("link", { name: "Mes appareils" }).click();
  await page.getByRole("heading", { level: 1, name: "Mes appareils" }).waitFor();
  await page.getByText("Aucune demande.").waitFor();

  // Another tab in front: the page is hidden (checked, not assumed).
  const front = await context.newPage();
  await front.goto("about:blank");
  await eventually("the page is hidden", () => page.evaluate(() => document.visibilityState === "hidden"), 10_000);
  const hiddenAt = await page.evaluate(() => window.__battery.changes.findLast((c) => c.state === "hidden").at);

  // While hidden, a new device asks to join the account (the relay pushes nothing for it).
  const joiner = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "cercle-test-battery" });
  const abort = new AbortController();
  t.after(() => {
    abort.abort(new Error("test over"));
    joiner.stop();
  });
  let waiting;
  const asked = new Promise((r) => (waiting = r));
  joiner.joinAccount("Batterie", { onWaiting: () => waiting(), onCode: () => {}, signal: abort.signal }).catch(() => {});
  await within(15_000, "the relay takes the request", asked);

  // The rest of the hidden period, measured on the page's own clock.
  const hiddenFor = async () => (await page.evaluate(() => performance.now())) - hiddenAt;
  const left = HIDDEN_MS - (await hiddenFor());
  if (left > 0) await new Promise((r) => setTimeout(r, left));
  const hidden = await page.evaluate(() => ({ state: document.visibilityState, log: window.__battery }));
  assert.equal(hidden.state, "hidden", "still hidden at the end of the period");
  const firedHidden = hidden.log.fired.filter((f) => f.hidden && f.at >= hiddenAt);
  assert.ok(firedHidden.length <= allowed, `at most ${allowed} timer callbacks in ${HIDDEN_MS} ms hidden (idle ping every ${pingMs} ms), got ${firedHidden.length}:\n${firedHidden.map((f) => f.what).join("\n")}`);
  assert.equal(hidden.log.requestShown, undefined, "nothing was asked for or drawn while hidden");

  // Back in view: the request is drawn by the return itself, before any timer callback.
  await page.bringToFront();
  await eventually("the page is visible", () => page.evaluate(() => document.visibilityState === "visible"), 10_000);
  await page.locator("ul.requests li", { hasText: "Demande de" }).waitFor();
  const back = await page.evaluate(() => window.__battery);
  const returnedAt = back.changes.findLast((c) => c.state === "visible").at;
  assert.ok(back.requestShown.at >= returnedAt && !back.requestShown.hidden, "drawn after the return");
  const between = back.fired.slice(0, back.requestShown.firedBefore).filter((f) => f.at >= returnedAt);
  assert.deepEqual(between.map((f) => f.what), [], "no timer ran between the return and the drawing");
  assert.deepEqual(problems, []);
});
