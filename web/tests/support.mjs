// Test support: the real cercle-server on 127.0.0.1 port 0 with a temporary data folder, serving
// web/dist; Debian's Chromium through playwright-core; axe-core scans. Every wait is bounded.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
export const WEB = join(dirname(fileURLToPath(import.meta.url)), "..");
// CERCLE_DIST: a copy of web/dist to serve (on a machine where others rebuild web/dist during a run).
export const DIST = process.env.CERCLE_DIST ?? join(WEB, "dist");
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
 * [association] (see ASSOCIATION), given with --config; toml: more of cercle.toml, appended.
 */
export async function startServer({ registration = "invite-code", codes = 0, web = DIST, testClock = false, association, toml = "" } = {}) {
  const bin = serverBinary();
  const data = mkdtempSync(join(tmpdir(), "cercle-web-test-"));
  const made = [];
  for (let i = 0; i < codes; i++) {
    made.push(execFileSync(adminBinary(), ["--data", data, "code", "create"], { encoding: "utf8", timeout: 30_000 }).trim());
  }
  const args = ["--listen", "127.0.0.1:0", "--data", data, "--web", web, "--registration", registration, "--log-level", "warn"];
  if (testClock) args.push("--test-clock", "true");
  const config = association || toml ? `${data}.toml` : undefined;
  if (config) {
    writeFileSync(config, (association ? associationToml(association) : "") + toml);
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

/**
 * One Chromium for the tests of a file: launched before the first, closed after the last. Call it
 * at the top of the file; the function it returns gives that Chromium (inside a test).
 */
export function chromiumForFile() {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });
  return () => browser;
}

/** With CERCLE_SCREENSHOTS=<dir>, keeps the whole page as <dir>/<name>.png (the guide's pictures). */
export async function shot(page, name) {
  const dir = process.env.CERCLE_SCREENSHOTS;
  if (dir) await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

/**
 * Whether any file under `dir` holds `needle` (a string, as UTF-8, or bytes) byte for byte: the
 * relay's RocksDB does not compress. A file the relay deletes during the scan (a compaction) is
 * passed over.
 */
export function folderHolds(dir, needle) {
  const bytes = typeof needle === "string" ? Buffer.from(needle, "utf8") : Buffer.from(needle);
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    try {
      const st = statSync(path);
      if (st.isDirectory() ? folderHolds(path, bytes) : st.isFile() && readFileSync(path).includes(bytes)) return true;
    } catch (e) {
      if (e.code !== "ENOENT") throw e;
    }
  }
  return false;
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

/** A person for one test only (personFor) with an account made on the home page (registerInPage). */
export async function signedUpFor(t, browser, server, handle, code, opts = PHONE) {
  const person = await personFor(t, browser, opts);
  await registerInPage(person.page, server.url, handle, code);
  return person;
}

/** Opens a group from the conversation list by its name; resolves once its page shows. */
export async function openGroup(page, name) {
  await page.getByRole("link", { name: "Conversations", exact: true }).click();
  await page.getByRole("link", { name }).first().click();
  await page.getByRole("heading", { level: 1, name }).waitFor();
}

/** A message's text in the list (not the live region that announced it). */
export const bubble = (page, text) => page.locator("ol.messages p.text", { hasText: text });
/** What the facilitator's screen ("Gérer le groupe") says of its last action. */
export const adminStatus = (page) => page.locator(".group-admin p.notice[role=status]");

/** Clicks a button that asks first, and answers "Oui" to its question. */
export async function confirm(page, button) {
  await page.getByRole("button", { name: button }).click();
  await page.getByRole("group", { name: button }).getByRole("button", { name: "Oui" }).click();
}

/** The records of one store of the page's IndexedDB ("cercle"); with `prefix`, only the keys that start with it. */
export function storedRecords(page, store, prefix) {
  return page.evaluate(
    ([store, prefix]) =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open("cercle", 1);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const range = prefix === undefined ? undefined : IDBKeyRange.bound(prefix, `${prefix}\uffff`);
          const all = open.result.transaction(store).objectStore(store).getAll(range);
          all.onsuccess = () => {
            resolve(all.result);
            open.result.close();
          };
        };
      }),
    [store, prefix],
  );
}

/** What the page keeps in IndexedDB for its groups: each message's text, or "event:<type>" for a group event. */
export async function storedGroupTexts(page) {
  const all = await storedRecords(page, "messages");
  return all.filter((m) => m.peer.startsWith("#")).map((m) => (m.event ? `event:${m.event.type}` : m.text));
}

export const NEUTRAL = "https://meteofrance.com/";  // The default quick exit target (src/ui/safety.ts).
export const BEFORE = "https://association.example/";  // What a tab showed before Cercle.

/** The quick exit's neutral page and a page before Cercle, answered by playwright: nothing leaves the machine. */
export async function routeExitPages(context) {
  await context.route(`${NEUTRAL}**`, (r) => r.fulfill({ contentType: "text/html; charset=utf-8", body: "<title>Météo</title><h1>Météo</h1>" }));
  await context.route(`${BEFORE}**`, (r) => r.fulfill({ contentType: "text/html; charset=utf-8", body: "<title>Association</title><h1>Association</h1>" }));
}

/** After the quick exit: the neutral page, nothing added to the tab, Back leads before Cercle. */
export async function assertLeft(page, lengthBefore) {
  await page.waitForURL(NEUTRAL);
  assert.equal(await page.title(), "Météo");
  assert.equal(await page.evaluate(() => history.length), lengthBefore, "the exit adds no history entry");
  await page.goBack();
  assert.equal(page.url(), BEFORE, "Back from the neutral page goes to the page before Cercle");
  await page.goBack();
  assert.equal(page.url(), "about:blank", "and behind it only the new tab's blank page");
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
