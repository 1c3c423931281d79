// Test support: the real cercle-server on 127.0.0.1 port 0 with a temporary data folder, serving
// web/dist; Debian's Chromium through playwright-core; axe-core scans. Every wait is bounded.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
export const WEB = join(dirname(fileURLToPath(import.meta.url)), "..");
export const DIST = join(WEB, "dist");
export const CHROMIUM = process.env.CERCLE_CHROMIUM ?? "/usr/bin/chromium";

export function serverBinary() {
  const candidates = [process.env.CERCLE_SERVER, join(WEB, "../build/bin/cercle-server"), join(WEB, "../build-web/bin/cercle-server")];
  const found = candidates.find((p) => p && existsSync(p));
  if (!found) throw new Error("cercle-server not found: build it, or set CERCLE_SERVER");
  return found;
}

export function adminBinary() {
  const candidates = [process.env.CERCLE_ADMIN, join(WEB, "../build/bin/cercle-admin"), join(WEB, "../build-web/bin/cercle-admin")];
  const found = candidates.find((p) => p && existsSync(p));
  if (!found) throw new Error("cercle-admin not found: build it, or set CERCLE_ADMIN");
  return found;
}

/** Bounded wait for a promise. */
export function within(ms, what, promise) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms))),
  ]);
}

/** Polls `check` until it returns a truthy value (bounded). */
export async function eventually(what, check, ms = 15_000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not true after ${ms} ms: ${what} (last: ${last})`);
}

/** An ASSOCIATION-like object as cercle.toml's [association] table (strings only). */
function associationToml(a) {
  const line = (k, v) => (v ? `${k} = ${JSON.stringify(v)}\n` : "");
  let text = `[association]\n${line("name", a.name)}${line("page", a.page)}${line("answer_times", a.answerTimes)}`;
  for (const c of a.contacts ?? []) text += `[[association.contacts]]\n${line("name", c.name)}${line("details", c.details)}${line("phone", c.phone)}${line("sms", c.sms)}${line("url", c.url)}`;
  return text;
}

/** The association of the tests that configure one (cercle.toml's [association]). */
export const ASSOCIATION = {
  name: "Entraide Rhône",
  page: "https://entraide.example/aide",
  answerTimes: "Nous répondons en général sous 48 h, du lundi au vendredi.",
  contacts: [{ name: "Permanence téléphonique", details: "Du lundi au vendredi, 18 h - 22 h", phone: "+33 4 00 00 00 00", sms: "+33 6 00 00 00 00" }],
};

/**
 * Starts the server. registration: "invite-code" or "open"; codes: registration codes to create
 * first (with cercle-admin, on the data folder before the server starts); testClock: the server's
 * clock can be moved forward with `admin("clock", "advance", HOURS)`; association: cercle.toml's
 * [association] (see ASSOCIATION), given with --config.
 */
export async function startServer({ registration = "invite-code", codes = 0, web = DIST, testClock = false, association } = {}) {
  const bin = serverBinary();
  const data = mkdtempSync(join(tmpdir(), "cercle-web-test-"));
  const made = [];
  for (let i = 0; i < codes; i++) {
    made.push(execFileSync(adminBinary(), ["--data", data, "code", "create"], { encoding: "utf8", timeout: 30_000 }).trim());
  }
  const args = ["--listen", "127.0.0.1:0", "--data", data, "--web", web, "--registration", registration, "--log-level", "warn"];
  if (testClock) args.push("--test-clock", "true");
  const config = association ? `${data}.toml` : undefined;
  if (config) {
    writeFileSync(config, associationToml(association));
    args.unshift("--config", config);
  }
  const child = spawn(bin, args, {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
  const port = await within(
    20_000,
    "cercle-server to listen",
    new Promise((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (d) => {
        out += d;
        const m = /listening on [\d.]+:(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.on("exit", (code) => reject(new Error(`cercle-server exited with ${code}: ${stderr}`)));
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    ws: `ws://127.0.0.1:${port}/ws`,
    codes: made,
    data,
    /** Runs cercle-admin against the running server (its admin socket in the data folder). */
    admin(...adminArgs) {
      return execFileSync(adminBinary(), ["--data", data, ...adminArgs], { encoding: "utf8", timeout: 30_000 }).trim();
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await within(10_000, "cercle-server to stop", new Promise((r) => child.once("exit", r))).catch(() => child.kill("SIGKILL"));
      }
      rmSync(data, { recursive: true, force: true });
      if (config) rmSync(config, { force: true });
    },
  };
}

export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** A server for one test only: stopped when the test ends (tests share nothing, run alone or in any order). */
export async function serverFor(t, opts) {
  const server = await startServer(opts);
  t.after(() => server.stop());
  return server;
}

/** A person for one test only (see newPerson): the context is closed when the test ends. */
export async function personFor(t, browser, opts) {
  const person = await newPerson(browser, opts);
  t.after(() => person.context.close().catch(() => {}));
  return person;
}

/** Page errors and console errors, leaving out the network ones a test causes on purpose (offline). */
export function pageProblems(person) {
  return person.problems.filter((p) => !/WebSocket|ERR_INTERNET_DISCONNECTED|net::ERR/.test(p));
}

/** Creates an account on the home page at `url` (with a registration code when given); resolves once connected. */
export async function registerInPage(page, url, handle, code) {
  await page.goto(`${url}/`);
  await page.getByLabel("Pseudonyme").fill(handle);
  if (code) await page.getByLabel("Code d'inscription").fill(code);
  await page.getByRole("button", { name: "Créer mon compte" }).click();
  await page.locator(".conn-text", { hasText: "Connecté." }).waitFor();
}

/** A new browser context (a separate person: own storage); records CSP violations and page errors. */
export async function newPerson(browser, opts = {}) {
  const context = await browser.newContext({ locale: "fr-FR", ...opts });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const problems = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(msg.text());
  });
  page.on("pageerror", (err) => problems.push(String(err)));
  return { context, page, problems };
}

const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** Runs axe-core (WCAG 2.0/2.1/2.2 A and AA rules) on the page; returns the violations. */
export async function axe(page) {
  // Evaluated through the DevTools protocol, so the page's CSP (no inline scripts) stays on.
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const result = await globalThis.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] },
      resultTypes: ["violations"],
    });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) }));
  });
}

/** No horizontal scrolling (WCAG 1.4.10 reflow). */
export function horizontalOverflow(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

/** Controls in Chromium's accessibility tree (DevTools protocol) that have no name. */
export async function unnamedControls(page) {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = await cdp.send("Accessibility.getFullAXTree");
    const controls = new Set(["button", "link", "textbox", "radio", "checkbox", "combobox", "dialog"]);
    const found = nodes.filter((n) => !n.ignored && controls.has(n.role?.value));
    assert.ok(found.length > 0, "the tree lists controls");
    return found.filter((n) => !String(n.name?.value ?? "").trim()).map((n) => n.role.value);
  } finally {
    await cdp.detach();
  }
}

/**
 * Asserts what every screen owes its readers: no axe-core violation (in the light and, unless
 * `dark` is false, the dark colour scheme), no horizontal scrolling when `reflow` (the 360 px
 * tests), and with `names` a name on every control of Chromium's accessibility tree.
 */
export async function expectAccessible(page, screen, { dark = true, reflow = true, names = false } = {}) {
  if (names) assert.deepEqual(await unnamedControls(page), [], `controls without a name on "${screen}"`);
  // The safety bar stays on top by design (position: sticky, "always in reach"); scrolled down, axe's
  // target-size counts the links it slides over as covered. Checked from the top, where it covers none.
  await page.evaluate(() => window.scrollTo(0, 0));
  for (const colorScheme of dark ? ["light", "dark"] : ["light"]) {
    if (dark) await page.emulateMedia({ colorScheme });
    const violations = await axe(page);
    const where = dark ? `"${screen}" (${colorScheme})` : `"${screen}"`;
    assert.deepEqual(violations, [], `axe violations on ${where}: ${JSON.stringify(violations, null, 1)}`);
  }
  if (dark) await page.emulateMedia({ colorScheme: "light" });
  if (reflow) assert.ok((await horizontalOverflow(page)) <= 0, `horizontal scrolling at 360 px on "${screen}"`);
}

/** A phone's viewport, for the 360 px checks (WCAG 1.4.10 reflow). */
export const PHONE = { viewport: { width: 360, height: 740 } };
/** A RegExp matching `text` exactly, whatever it holds. */
export const exactly = (text) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
export const toEnglish = (page) => page.getByRole("button", { name: "English" }).click();
export const toFrench = (page) => page.getByRole("button", { name: "Français" }).click();
/** Whether `locator`'s element has the keyboard focus. */
export const focused = (locator) => locator.evaluate((el) => el === document.activeElement);
