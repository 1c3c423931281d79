// The contact page before the application's code has arrived (issue 15 item 4, a slow phone): the
// form index.html holds, shown by public/early.js on /c/<token> only. In Chromium at 360 px, real
// relay; the page's main script is held back by the test (playwright route) until released, so
// "before the code" is a state the test controls, not a race.
import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryStore, Messenger } from "../build-node/core.mjs";
import { chromiumForFile, eventually, expectAccessible, pageProblems, personFor, PHONE, serverFor } from "./support.mjs";

const browser = chromiumForFile();

async function helperWithLink(t, server) {
  const m = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "cercle-test-early", keyPackageStock: 3 });
  t.after(() => m.stop());
  await m.register("aidante");
  assert.ok(await m.waitOnline(10_000));
  const link = await m.createContactLink("site", 0);
  return { helper: m, url: `${server.url}/c/${encodeURIComponent(link.token)}` };
}

/** A visitor's page whose main script (assets/index-*.js) waits until `release()`; counts its WebSockets. */
async function heldVisitor(t) {
  const person = await personFor(t, browser(), PHONE);
  let release;
  const held = new Promise((r) => (release = r));
  await person.page.route(/\/assets\/index-[\w-]+\.js$/, async (route) => {
    await held;
    await route.continue();
  });
  const sockets = [];
  person.page.on("websocket", (ws) => sockets.push(ws.url()));
  return { ...person, release, sockets };
}

const texts = async (m, peer) => (await m.messages(peer)).map((x) => x.text);

test("before the code arrives, a visitor types a pseudonym and a first message and presses Commencer; the code sends it", async (t) => {
  const server = await serverFor(t, { registration: "open" });
  const { helper, url } = await helperWithLink(t, server);
  const visitor = await heldVisitor(t);
  const { page } = visitor;
  await page.goto(url, { waitUntil: "commit" });
  await page.getByRole("heading", { level: 1, name: "Commencer une conversation" }).waitFor();
  assert.equal(await page.evaluate(() => !!window.cercleEarly && !document.querySelector("header.top")), true, "the application's code has not run");
  await page.getByLabel("Choisissez un pseudonyme").fill("camille");
  await page.getByLabel("Votre premier message").fill("Bonjour, j'écris avant que la page soit prête.");
  await page.getByRole("button", { name: "Commencer" }).click();
  await page.getByRole("status").filter({ hasText: "Un instant…" }).waitFor();
  assert.equal(new URL(page.url()).search, "", "the form was not submitted as a form (nothing in the address)");

  visitor.release();
  await page.getByRole("heading", { level: 1, name: "Conversation avec aidante" }).waitFor({ timeout: 30_000 });
  await page.locator("li.msg.mine .status", { hasText: "Envoyé" }).waitFor({ timeout: 30_000 });
  await eventually("aidante reads it", async () => (await texts(helper, "camille")).includes("Bonjour, j'écris avant que la page soit prête."));
  assert.deepEqual(await texts(helper, "camille"), ["Bonjour, j'écris avant que la page soit prête."], "sent once");
  // The socket early.js opened is the one the code used: one WebSocket in all.
  assert.equal(visitor.sockets.length, 1, `WebSockets: ${visitor.sockets.join(", ")}`);
  assert.deepEqual(pageProblems(visitor), []);
});

test("what was typed, and the focus, stay when the code takes the form over; without a message nothing is sent", async (t) => {
  const server = await serverFor(t, { registration: "open" });
  const { helper, url } = await helperWithLink(t, server);
  const visitor = await heldVisitor(t);
  const { page } = visitor;
  await page.goto(url, { waitUntil: "commit" });
  const handle = page.getByLabel("Choisissez un pseudonyme");
  await handle.fill("domi");
  visitor.release();
  await page.getByRole("heading", { level: 1, name: "Écrire à aidante" }).waitFor({ timeout: 30_000 });
  assert.equal(await handle.inputValue(), "domi");
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("name")), "handle", "the focus stayed in the field");
  assert.equal(await page.locator("#early").count(), 0, "one form only");
  await page.keyboard.type("nique");
  assert.equal(await handle.inputValue(), "dominique");
  assert.equal(await page.getByLabel("Votre premier message").inputValue(), "");
  await expectAccessible(page, "page de contact reprise par le code");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "Conversation avec aidante" }).waitFor({ timeout: 30_000 });
  // A round trip after the conversation opened: the helper's answer reaches the visitor, and the
  // helper still has no message from them.
  await eventually("the conversation reaches aidante", () => helper.threads().some((th) => th.peer === "dominique"));
  await helper.sendText("dominique", "Bonjour, je vous écoute.");
  await page.locator("ol.messages p.text", { hasText: "Bonjour, je vous écoute." }).waitFor();
  assert.deepEqual(await texts(helper, "dominique"), ["Bonjour, je vous écoute."]);
  assert.deepEqual(pageProblems(visitor), []);
});

test("the early form is only on a contact link's page: not on the home page", async (t) => {
  const server = await serverFor(t, { registration: "open" });
  const { page } = await personFor(t, browser(), PHONE);
  await page.goto(`${server.url}/`);
  await page.getByRole("button", { name: "Créer mon compte" }).waitFor();
  assert.equal(await page.locator("#early").count(), 0);
  assert.equal(await page.evaluate(() => "cercleEarly" in window), false, "no early socket");
  await page.getByLabel("Pseudonyme").fill("lea");  // One field of that name (strict locator).
});
