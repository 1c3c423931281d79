// The slow-phone benchmark (issue 15 item 4; bench/README.md "Téléphone lent / slow phone"). Not a
// test: it measures and prints, it asserts nothing but that each step happened within its bound.
//
// The real relay (cercle-server, port 0, temporary data) serves a snapshot of web/dist; Debian's
// Chromium opens it with the CPU slowed 4 times (Emulation.setCPUThrottlingRate) and HTTP at
// 400 kbit/s both ways with 400 ms latency (Network.emulateNetworkConditions). Chromium does not
// apply that emulation to WebSocket frames (checked at each start, printed as `websocket_check`),
// so the page reaches the relay through throttle-proxy.mjs, which gives WebSocket connections the
// same 400 kbit/s and 400 ms round trip. Figures, each over --runs runs (median, min, max), in ms
// from the navigation's start (performance.now() in the page, read in the first animation frame
// that shows the state, so a state computed but not painted does not count):
//   visitor_can_type:  the contact link page's pseudonym field is rendered, enabled, not read-only,
//                      not under [hidden] or [inert], visible: the person can type in it.
//   visitor_can_write: after typing a pseudonym at once and pressing "Commencer", the message field
//                      is usable in the same sense.
//   visitor_first_ack: after typing a short message at once and pressing "Envoyer", the message's
//                      status says "Envoyé" (the page shows that once the relay acknowledged it).
//   group_last_shown:  a member opens a group of --members members (the page at #/g/<id>, its
//                      account already on this browser) with --messages messages waiting on the
//                      relay: the last one's text is in the conversation.
//
// node bench/phone/run.mjs [--runs 5] [--group-runs 3] [--members 50] [--messages 500]
//                          [--only visitor|group] [--json]
// Needs web/dist (npm run build) and web/build-node (npm run build:node); CERCLE_SERVER as the tests.
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startThrottleProxy } from "./throttle-proxy.mjs";
import { DIST, eventually, launchBrowser, startServer, within } from "../../web/tests/support.mjs";
import { groupKey, MemoryStore, Messenger, facilitator as f } from "../../web/build-node/core.mjs";

const { values: opt } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    "group-runs": { type: "string", default: "3" },
    members: { type: "string", default: "50" },
    messages: { type: "string", default: "500" },
    only: { type: "string" },
    json: { type: "boolean", default: false },
    trace: { type: "boolean", default: false },
  },
});
const RUNS = Number(opt.runs);
const GROUP_RUNS = Number(opt["group-runs"]);
const MEMBERS = Number(opt.members);
const MESSAGES = Number(opt.messages);
// No service worker: its own fetches escape the page's network emulation (they would come at
// loopback speed), and a first visit has none in charge anyway.
const PHONE = { viewport: { width: 360, height: 740 }, locale: "fr-FR", serviceWorkers: "block" };
const NETWORK = { offline: false, latency: 400, downloadThroughput: 50_000, uploadThroughput: 50_000 };  // 400 kbit/s = 50,000 B/s.
const STEP_MS = 120_000;  // Bound on every step of a run.
const FIRST = "Bonjour, j'aimerais parler.";

const log = (...a) => opt.json || console.error(...a);

/**
 * The relay on 127.0.0.1 port 0, open registration, serving `web`; every connection comes from
 * 127.0.0.1, so the per-address limits are lifted (as cercle-bench does), else they would be measured.
 */
function startRelay(web) {
  const toml =
    "[rate_limits]\nregistrations_per_ip_per_hour = 0\nauth_attempts_per_ip_per_minute = 0\nmessages_per_ip_per_second = 0\n" +
    "messages_per_account_per_second = 0\nkey_package_fetches_per_account_per_minute = 0\n[limits]\nmax_connections_per_address = 1000000\n";
  return startServer({ registration: "open", web, toml });
}

/** Injected before the page's own scripts: marks (performance.now()) the first frame showing each state. */
function recorder(lastText) {
  const marks = (window.__bench = {});
  const usable = (el) =>
    !!el && el.isConnected && !el.disabled && !el.readOnly && !el.closest("[hidden],[inert]") && el.getClientRects().length > 0 && getComputedStyle(el).visibility === "visible";
  const tick = () => {
    const now = performance.now();
    if (!marks.handle && usable(document.querySelector('input[name="handle"]'))) marks.handle = now;
    if (!marks.message && usable(document.querySelector('textarea[name="message"]'))) marks.message = now;
    if (!marks.sent && [...document.querySelectorAll("li.msg.mine .status")].some((s) => s.textContent.includes("Envoyé"))) marks.sent = now;
    if (lastText && !marks.last && [...document.querySelectorAll("ol.messages p.text")].some((p) => p.textContent === lastText)) marks.last = now;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

/** The phone: CPU 4 times slower, HTTP at 400 kbit/s and 400 ms (set before the page navigates). */
async function slowPhone(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", NETWORK);
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
  return cdp;
}

const mark = (page, name) =>
  page.waitForFunction((n) => window.__bench?.[n], name, { timeout: STEP_MS, polling: "raf" }).then(() => page.evaluate((n) => window.__bench[n], name));

/**
 * Whether Chromium's network emulation slows WebSocket frames: a frame the relay cannot read is
 * answered (or the socket closed) after how long, with and without the emulation, straight to the relay.
 */
async function webSocketCheck(browser, server) {
  const once = async (emulate) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    if (emulate) await slowPhone(context, page);
    await page.goto(`${server.url}/healthz`);
    const r = await page.evaluate(async (url) => {
      const ws = new WebSocket(url);
      ws.binaryType = "arraybuffer";
      const t0 = performance.now();
      await new Promise((ok, ko) => ((ws.onopen = ok), (ws.onerror = ko)));
      const t1 = performance.now();
      const answered = new Promise((ok) => ((ws.onmessage = ok), (ws.onclose = ok)));
      ws.send(new Uint8Array(1000).fill(0xff));
      await answered;
      return { open_ms: Math.round(t1 - t0), answer_ms: Math.round(performance.now() - t1) };
    }, server.ws);
    await context.close();
    return r;
  };
  return { emulated: await once(true), plain: await once(false) };
}

/** A helper (node core) with a contact link; returns the link's path. */
async function helperWithLink(server) {
  const helper = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "bench", keyPackageStock: 40 });
  await helper.register("aidante");
  if (!(await helper.waitOnline(20_000))) throw new Error("helper not online");
  const link = await helper.createContactLink("site", 0, "Je réponds le soir.");
  return { helper, path: `/c/${link.token}` };
}

/** With --trace: when each request and WebSocket frame went and came, in ms after `start` (CDP's clock). */
function trace(cdp) {
  const events = [];
  let start;
  const at = (ts) => Math.round((ts - start) * 1000);
  cdp.on("Network.requestWillBeSent", (e) => {
    start ??= e.timestamp;
    events.push(`${at(e.timestamp)} GET ${new URL(e.request.url).pathname}`);
  });
  cdp.on("Network.loadingFinished", (e) => events.push(`${at(e.timestamp)} done ${e.requestId} ${e.encodedDataLength} B`));
  cdp.on("Network.webSocketCreated", () => events.push(`ws created`));
  cdp.on("Network.webSocketFrameSent", (e) => events.push(`${at(e.timestamp)} ws > ${e.response.payloadData.length} b64`));
  cdp.on("Network.webSocketFrameReceived", (e) => events.push(`${at(e.timestamp)} ws < ${e.response.payloadData.length} b64`));
  return events;
}

async function visitorRun(browser, base, path, i) {
  const context = await browser.newContext(PHONE);
  await context.addInitScript(recorder, "");
  const page = await context.newPage();
  try {
    const cdp = await slowPhone(context, page);
    const events = opt.trace ? trace(cdp) : [];
    if (opt.trace) page.on("close", () => log(events.join("\n")));
    await page.goto(`${base}${path}`, { waitUntil: "commit", timeout: STEP_MS });
    const canType = await mark(page, "handle");
    await page.locator('input[name="handle"]').fill(`visiteur${i}`, { timeout: STEP_MS });
    // The contact form may ask for the first message too; else it comes on the conversation's page.
    const together = await page.evaluate(() => !!window.__bench.message);
    if (together) await page.locator('textarea[name="message"]').fill(FIRST, { timeout: STEP_MS });
    await page.getByRole("button", { name: "Commencer" }).click({ timeout: STEP_MS });
    const canWrite = await mark(page, "message");
    if (!together) {
      await page.locator('textarea[name="message"]').fill(FIRST, { timeout: STEP_MS });
      await page.getByRole("button", { name: "Envoyer" }).click({ timeout: STEP_MS });
    }
    const ack = await mark(page, "sent");
    return { visitor_can_type: canType, visitor_can_write: canWrite, visitor_first_ack: ack };
  } finally {
    await context.close();
  }
}

async function nodePerson(server, handle) {
  const m = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "bench", keyPackageStock: 1 });
  await m.register(handle);
  if (!(await m.waitOnline(20_000))) throw new Error(`${handle} not online`);
  return m;
}

/** Members registered in the browser (one context each), then parked on about:blank. */
async function browserMembers(browser, base, count) {
  const out = [];
  for (let i = 0; i < count; i++) {
    const context = await browser.newContext(PHONE);
    const page = await context.newPage();
    await page.goto(`${base}/`);
    await page.getByLabel("Pseudonyme").fill(`membre.web${i}`);
    await page.getByRole("button", { name: "Créer mon compte" }).click();
    await page.locator(".conn-text", { hasText: "Connecté." }).waitFor({ timeout: STEP_MS });
    out.push({ context, page, handle: `membre.web${i}` });
  }
  return out;
}

/** The group: a facilitator, node members (SENDERS of them online), the browser members; MESSAGES waiting. */
async function groupSetup(browser, server, proxy) {
  const SENDERS = 4;
  const web = await browserMembers(browser, proxy.url, GROUP_RUNS);
  const fac = await nodePerson(server, "animatrice");
  const node = [];
  for (let i = 0; i < MEMBERS - 1 - web.length; i++) node.push(await nodePerson(server, `membre${i}`));
  const handles = [...node.map((m) => m.account.handle), ...web.map((w) => w.handle)];
  const t0 = performance.now();
  const id = await eventually("group created", () => f.fac(fac).createGroup({ name: "Groupe du banc" }, handles), 120_000);
  log(`group of ${handles.length + 1} created in ${Math.round(performance.now() - t0)} ms`);
  for (const m of node.slice(SENDERS)) m.stop();  // Online until now: their key packages were uploaded.
  const senders = [fac, ...node.slice(0, SENDERS)];
  for (const s of senders) await eventually("sender joined", () => s.groupView(groupKey(id)), 60_000);
  for (const w of web) await w.page.getByText("Groupe du banc").first().waitFor({ timeout: STEP_MS });
  for (const w of web) await w.page.goto("about:blank");
  let last = "";
  for (let i = 0; i < MESSAGES; i++) {
    last = `Message ${i + 1} de ${MESSAGES} : ${"bla ".repeat(10 + (i % 30))}`.trim();
    await senders[i % senders.length].sendText(groupKey(id), last);
  }
  for (const s of senders) {
    await eventually("all sent", async () => (await s.messages(groupKey(id))).every((m) => !m.mine || m.status === "sent"), 120_000);
  }
  for (const s of senders) s.stop();
  return { id, web, last, people: [fac, ...node] };
}

async function groupRun(member, base, id, last) {
  const page = await member.context.newPage();
  await page.addInitScript(recorder, last);
  try {
    await slowPhone(member.context, page);
    await page.goto(`${base}/#/g/${id}`, { waitUntil: "commit", timeout: STEP_MS });
    return { group_last_shown: await mark(page, "last") };
  } catch (e) {
    const seen = await page.evaluate(() => [location.href, document.querySelector("h1")?.textContent, [...document.querySelectorAll("ol.messages p.text")].map((p) => p.textContent.slice(0, 14))]).catch(() => []);
    throw new Error(`${e.message}; the page showed ${JSON.stringify(seen)}`);
  } finally {
    await page.close();
  }
}

function summary(runs) {
  const out = {};
  for (const key of Object.keys(runs[0] ?? {})) {
    const v = runs.map((r) => r[key]).sort((a, b) => a - b);
    const mid = v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    out[key] = { median: Math.round(mid), min: Math.round(v[0]), max: Math.round(v[v.length - 1]), runs: v.map(Math.round) };
  }
  return out;
}

async function main() {
  const dist = mkdtempSync(join(tmpdir(), "cercle-phone-dist-"));
  cpSync(DIST, dist, { recursive: true });  // Others may rebuild web/dist during a run.
  const server = await startRelay(dist);
  const proxy = await startThrottleProxy(Number(new URL(server.url).port));
  proxy.url = `http://127.0.0.1:${proxy.port}`;
  const browser = await launchBrowser();
  const people = [];
  const result = { chromium: browser.version(), network: NETWORK, cpu_slowdown: 4 };
  try {
    result.websocket_check = await webSocketCheck(browser, server);
    log("websocket check", JSON.stringify(result.websocket_check));
    if (opt.only !== "group") {
      const { helper, path } = await helperWithLink(server);
      people.push(helper);
      const runs = [];
      for (let i = 0; i < RUNS; i++) {
        runs.push(await within(4 * STEP_MS, "visitor run", visitorRun(browser, proxy.url, path, i)));
        log(`visitor run ${i + 1}:`, JSON.stringify(runs.at(-1)));
      }
      Object.assign(result, summary(runs));
    }
    if (opt.only !== "visitor") {
      proxy.throttle = false;  // Setting up goes at loopback speed.
      const g = await groupSetup(browser, server, proxy);
      people.push(...g.people);
      proxy.throttle = true;
      const runs = [];
      for (const member of g.web) {
        runs.push(await within(2 * STEP_MS, "group run", groupRun(member, proxy.url, g.id, g.last)));
        log(`group run ${runs.length}:`, JSON.stringify(runs.at(-1)));
      }
      Object.assign(result, summary(runs), { group: { members: MEMBERS, messages: MESSAGES } });
    }
    result.proxy_connections = proxy.counts;
  } finally {
    for (const p of people) p.stop();
    await browser.close();
    await proxy.close();
    await server.stop();
    rmSync(dist, { recursive: true, force: true });
  }
  console.log(JSON.stringify(result, null, opt.json ? 0 : 2));
}

await main();
