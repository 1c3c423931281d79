// Issue 14 point 5, after a reload: with the relay down (it also serves the page's files), the
// page opens again from what its service worker (public/sw.js) kept, and the history kept in
// IndexedDB is read, and the page says in words that it is offline and that messages will leave
// later; in Debian's Chromium at 360 px against the real relay, stopped midway.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { MemoryStore, Messenger } from "../build-node/core.mjs";
import { eventually, exactly, expectAccessible, launchBrowser, personFor, PHONE, registerInPage, serverFor } from "./support.mjs";

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/** Whether every file of the page loaded so far (under /assets/) is in the worker's cache, and the page too. */
function allKept(page) {
  return page.evaluate(async () => {
    if (!navigator.serviceWorker.controller) return false;
    const name = (await caches.keys()).find((k) => k.startsWith("cercle-files-"));  // One a build (sw.js).
    if (!name) return false;
    const cache = await caches.open(name);
    const kept = new Set((await cache.keys()).map((r) => new URL(r.url).pathname));
    const loaded = performance.getEntriesByType("resource").map((e) => new URL(e.name).pathname).filter((p) => p.startsWith("/assets/"));
    return kept.has("/") && loaded.length > 0 && loaded.every((p) => kept.has(p));
  });
}

test("with the relay down, a reload opens the page from what it kept, and the history is read (5)", async (t) => {
  const server = await serverFor(t, { registration: "open" });
  const helper = await personFor(t, browser, PHONE);
  const { page } = helper;
  await registerInPage(page, server.url, "aidante");
  const bob = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "cercle-test-offline-reload", keyPackageStock: 3 });
  t.after(() => bob.stop());
  await bob.register("bob");
  await eventually("bob reaches aidante", () => bob.startConversation("aidante").then(() => true).catch(() => false));
  const words = ["Bonjour, c'est bob.", "Tu es là ?", "Je repasse ce soir."];
  for (const w of words) await bob.sendText("aidante", w);
  await page.getByRole("link", { name: /^bob/ }).filter({ hasText: "3 nouveaux messages" }).waitFor();
  // The conversation screen was fetched in the background once signed in (app.ts): kept too.
  await eventually("the page's files are kept", () => allKept(page));
  await server.stop();
  await page.locator(".conn-text", { hasText: /^Le service Cercle ne répond pas\./ }).waitFor({ timeout: 20_000 });
  await page.reload();
  await page.getByRole("heading", { level: 1, name: "Conversations" }).waitFor();
  await page.locator(".conn-text", { hasText: /^Le service Cercle ne répond pas\./ }).waitFor({ timeout: 20_000 });
  // Said in words, in the polite live region too (issue 15): offline, what can be read, what happens to messages.
  const offline = "Le service Cercle ne répond pas. Nouvel essai… Vous pouvez lire les messages gardés ici. Vos messages partiront quand la connexion revient.";
  await page.locator('#main > [role="status"]', { hasText: exactly(offline) }).waitFor({ state: "attached" });
  await page.getByRole("link", { name: /^bob/ }).click();
  await page.getByRole("heading", { level: 1, name: "Conversation avec bob" }).waitFor();
  await page.locator("ol.messages li.msg .text", { hasText: exactly(words[2]) }).waitFor();
  assert.deepEqual(await page.locator("ol.messages li.msg:not(.event) .text").allTextContents(), words);
  await expectAccessible(page, "rechargée sans le service");
});
