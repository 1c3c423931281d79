// Issue 15 item 1: Cercle is an installable web app (manifest, icons, colours for light and dark;
// Chromium reports no installability error through the DevTools protocol), and a new build is
// offered, never forced: its service worker waits, the page says "Une nouvelle version est prête."
// and reloads only after the person's click. In Debian's Chromium at 360 px against the real relay.
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import { CHROMIUM, DIST, eventually, expectAccessible, focused, launchBrowser, personFor, PHONE, serverFor, toEnglish, toFrench } from "./support.mjs";

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/** The version of the service worker in charge of the page (asked through a message, sw.js). */
function controllerVersion(page) {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const worker = navigator.serviceWorker.controller;
        if (!worker) return resolve(null);
        const channel = new MessageChannel();
        channel.port1.onmessage = (e) => resolve(e.data);
        worker.postMessage({ version: true }, [channel.port2]);
        setTimeout(() => reject(new Error("the worker did not answer")), 5000);
      }),
  );
}

/**
 * A browser with a profile on disk, as a person's: Chromium does not install from a private
 * ("incognito") profile, which is what launchBrowser's contexts are.
 */
async function personalBrowser(t) {
  const profile = mkdtempSync(join(tmpdir(), "cercle-web-profile-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    locale: "fr-FR",
    ...PHONE,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  t.after(async () => {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  });
  context.setDefaultTimeout(15_000);
  return context.pages()[0] ?? (await context.newPage());
}

/** The width and height a PNG says in its header. */
function pngSize(bytes) {
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "a PNG");
  return `${bytes.readUInt32BE(16)}x${bytes.readUInt32BE(20)}`;
}

/** A copy of the build for one test, so that the test can put a new build in its place. */
function copyOfBuild(t) {
  const web = mkdtempSync(join(tmpdir(), "cercle-web-build-"));
  cpSync(DIST, web, { recursive: true });
  t.after(() => rmSync(web, { recursive: true, force: true }));
  return web;
}

/** Puts a new build in `web`: its worker carries another version (and its gzip twin says the same). */
function nextBuild(web, version) {
  const file = join(web, "sw.js");
  const source = readFileSync(file, "utf8");
  const next = source.replace(/^const VERSION = "[^"]+";$/m, `const VERSION = "${version}";`);
  assert.notEqual(next, source, "sw.js names its version");
  writeFileSync(file, next);
  writeFileSync(`${file}.gz`, gzipSync(next));
}

test("the manifest makes Cercle installable, with a neutral name and icons; Chromium reports no installability error", async (t) => {
  const server = await serverFor(t);
  const page = await personalBrowser(t);
  const manifestResponse = await page.request.get(`${server.url}/manifest.webmanifest`);
  assert.equal(manifestResponse.headers()["content-type"], "application/manifest+json");
  const manifest = await manifestResponse.json();
  // Nothing in the name says what the service is for: an icon on a phone may be seen by others.
  assert.equal(manifest.name, "Cercle");
  assert.equal(manifest.short_name, "Cercle");
  assert.equal(manifest.lang, "fr");
  assert.equal(manifest.display, "standalone");
  assert.equal(manifest.start_url, "/");
  assert.equal(manifest.scope, "/");
  const sizes = [];
  for (const icon of manifest.icons) {
    const response = await page.request.get(new URL(icon.src, server.url).href);
    assert.equal(response.headers()["content-type"], "image/png", icon.src);
    assert.equal(pngSize(await response.body()), icon.sizes, `${icon.src} is ${icon.sizes}`);
    sizes.push(`${icon.sizes} ${icon.purpose}`);
  }
  assert.deepEqual(sizes, ["192x192 any", "512x512 any", "512x512 maskable"]);

  await page.goto(`${server.url}/`);
  await page.getByLabel("Pseudonyme").waitFor();
  const themes = await page.locator('meta[name="theme-color"]').evaluateAll((metas) => metas.map((m) => `${m.media} ${m.content}`));
  assert.deepEqual(themes, ["(prefers-color-scheme: light) #ffffff", "(prefers-color-scheme: dark) #121212"]);
  await eventually("the service worker is in charge", () => controllerVersion(page));
  const cdp = await page.context().newCDPSession(page);
  t.after(() => cdp.detach().catch(() => {}));
  const { errors } = await cdp.send("Page.getAppManifest");
  assert.deepEqual(errors, [], "the manifest parses without error");
  const { installabilityErrors } = await cdp.send("Page.getInstallabilityErrors");
  assert.deepEqual(installabilityErrors, []);
});

test("a new build is offered, not forced: its worker waits until the person chooses 'Mettre à jour'", async (t) => {
  const web = copyOfBuild(t);
  const server = await serverFor(t, { web });
  const { page, problems } = await personFor(t, browser, PHONE);
  await page.goto(`${server.url}/`);
  const handle = page.getByLabel("Pseudonyme");
  await handle.waitFor();
  const first = await eventually("the first build's worker is in charge", () => controllerVersion(page));
  const prompt = page.locator(".update");
  const ready = prompt.getByRole("status").filter({ hasText: /^Une nouvelle version est prête\.$/ });
  const update = prompt.getByRole("button", { name: "Mettre à jour" });

  // A person is typing when the server gets a new build; the browser looks for a new worker.
  await handle.fill("brouillon");
  await page.evaluate(() => (window.sameDocument = true));
  nextBuild(web, "second-build");
  await page.evaluate(() => navigator.serviceWorker.getRegistration().then((reg) => reg.update()));
  await ready.waitFor();
  // Nothing reloaded: the same document, the words typed, the first worker still answers as the
  // one in charge; the new one is installed and waits.
  assert.equal(await page.evaluate(() => window.sameDocument), true);
  assert.equal(await handle.inputValue(), "brouillon");
  assert.equal(await controllerVersion(page), first);
  assert.equal(await page.evaluate(() => navigator.serviceWorker.getRegistration().then((reg) => reg.waiting?.state)), "installed");
  await expectAccessible(page, "nouvelle version prête", { names: true });

  await toEnglish(page);
  await prompt.getByRole("status").filter({ hasText: /^A new version is ready\.$/ }).waitFor();
  await prompt.getByRole("button", { name: "Update" }).waitFor();
  await prompt.getByRole("button", { name: "Later" }).waitFor();
  await expectAccessible(page, "new version ready");
  await toFrench(page);

  // "Plus tard": the prompt goes away, the focus goes on to the page; still nothing reloaded.
  await prompt.getByRole("button", { name: "Plus tard" }).click();
  await update.waitFor({ state: "detached" });
  assert.equal(await page.locator("#main").evaluate((el) => el === document.activeElement), true);
  assert.equal(await page.evaluate(() => window.sameDocument), true);
  assert.equal(await controllerVersion(page), first);

  // The person reloads the page herself: the new version still waits, and is offered again.
  await page.reload();
  await ready.waitFor();
  assert.equal(await controllerVersion(page), first);

  // With the keyboard only: Tab from the top of the page reaches "Mettre à jour" (after the safety bar).
  await page.evaluate(() => (window.sameDocument = true));
  const order = [];
  for (let i = 0; i < 40 && !(await focused(update)); i++) {
    await page.keyboard.press("Tab");
    order.push(await page.evaluate(() => document.activeElement?.textContent?.trim()));
  }
  assert.ok(await focused(update), `Tab reaches "Mettre à jour" (went through: ${order.join(" | ")})`);
  assert.equal(order.at(-2), "Quitter vite", "right after the safety bar");
  assert.equal(await update.evaluate((el) => getComputedStyle(el).outlineStyle), "solid", "the focus shows");
  const reloaded = page.waitForEvent("load");
  await page.keyboard.press("Enter");
  await reloaded;
  await handle.waitFor();
  assert.equal(await page.evaluate(() => window.sameDocument), undefined, "the page reloaded once the person chose it");
  assert.equal(await controllerVersion(page), "second-build");
  assert.equal(await page.evaluate(() => navigator.serviceWorker.getRegistration().then((reg) => reg.waiting)), null);
  // The first build's files went with it; the new one kept the page and the files of a first visit.
  const kept = await page.evaluate(async () => Promise.all((await caches.keys()).map(async (k) => [k, (await (await caches.open(k)).keys()).map((r) => new URL(r.url).pathname)])));
  assert.deepEqual(kept.map(([k]) => k), ["cercle-files-second-build"]);
  const shell = await page.evaluate(() => [...document.querySelectorAll('script[src], link[rel="stylesheet"]')].map((e) => new URL(e.src || e.href).pathname));
  for (const file of ["/", ...shell]) assert.ok(kept[0][1].includes(file), `${file} is kept (${kept[0][1].join(", ")})`);
  await prompt.getByRole("status").filter({ hasText: /^$/ }).waitFor({ state: "attached" });
  assert.equal(await update.count(), 0, "nothing more to offer");
  assert.deepEqual(problems.filter((p) => !/favicon/.test(p)), []);
});
