// The safety kit (issue 13, item 4) in Debian's Chromium against the real relay: "Quitter vite" by
// the button (a visitor from a contact link) and by Escape twice (a helper), Back never returning to
// Cercle; the crisis card's numbers and links; hidden words folding a received message, shown on
// demand, kept in this browser and never sent; the pause hiding unread counts and announcements
// until it is stopped; axe-core on each new screen at 360 px (French, English, light, dark); the
// whole kit with the keyboard only. The neutral page and the page before Cercle are answered by
// playwright (context.route): nothing leaves the machine.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { firstLoad, everything } from "../scripts/size.mjs";
import { MemoryStore, Messenger } from "../build-node/core.mjs";
import { assertLeft, BEFORE, DIST, eventually, expectAccessible, launchBrowser, NEUTRAL, pageProblems, personFor, PHONE, routeExitPages, serverFor } from "./support.mjs";

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/** A person whose tab can reach the neutral page and the page before Cercle, and whose page records
 * what its live region says (window.__said) and whether a pointer was used. */
async function person(t) {
  const p = await personFor(t, browser, PHONE);
  await routeExitPages(p.context);
  await p.page.addInitScript(() => {
    window.__said = [];
    new MutationObserver(() => {
      const live = document.querySelector('#main > [aria-live="polite"]');
      if (live?.textContent) window.__said.push(live.textContent);
    }).observe(document, { subtree: true, childList: true, characterData: true });
    for (const type of ["mousedown", "pointerdown", "click"]) {
      window.addEventListener(type, (e) => {
        if (e.isTrusted && e.detail > 0) document.documentElement.dataset.pointer = "used";
      }, true);
    }
  });
  return p;
}

const heading = (page, name) => page.getByRole("heading", { level: 1, name }).waitFor();
const said = (page) => page.evaluate(() => window.__said.join("\n"));

/** A helper signed in from the home page, the page before Cercle in the tab's history. */
async function helperPage(t, server, handle, { clock = false } = {}) {
  const p = await person(t);
  if (clock) await p.page.clock.install();
  await p.page.goto(BEFORE);
  await p.page.goto(`${server.url}/`);
  await p.page.getByLabel("Pseudonyme").fill(handle);
  await p.page.getByRole("button", { name: "Créer mon compte" }).click();
  await heading(p.page, "Conversations");
  await p.page.locator(".conn-text", { hasText: "Connecté." }).waitFor();
  return p;
}

/** A peer on the client core under node. */
async function corePeer(t, server, handle) {
  const m = await Messenger.load({ url: server.ws, store: new MemoryStore() });
  t.after(() => m.stop());
  await m.register(handle, { role: "helper" });
  assert.ok(await m.waitOnline(10_000));
  return m;
}

test("a visitor from a contact link leaves with the button, after a reload too, and Back does not return to Cercle", async (t) => {
  const server = await serverFor(t, { registration: "open" });
  const helper = await corePeer(t, server, "pair.aidant");
  const link = await helper.createContactLink("site", 0);
  const { page, problems } = await person(t);
  await page.goto(BEFORE);
  await page.goto(`${server.url}/c/${link.token}`);
  await heading(page, "Écrire à pair.aidant");
  // Within reach before the visitor has an account.
  await page.getByRole("region", { name: "Aide et sortie rapide" }).getByRole("button", { name: "Quitter vite" }).waitFor();
  await page.getByLabel("Choisissez un pseudonyme").fill("dominique");
  await page.getByRole("button", { name: "Commencer" }).click();
  await heading(page, "Conversation avec pair.aidant");
  await page.getByRole("link", { name: "Mon compte" }).click();
  await heading(page, "Mon compte");
  await page.reload();  // A new page load (as a phone restoring a discarded tab): older entries are another document.
  await heading(page, "Mon compte");
  await page.getByRole("link", { name: "Sécurité" }).click();
  await heading(page, "Sécurité");
  const length = await page.evaluate(() => history.length);
  assert.equal(length, 5, "the new tab's blank page, before, the link page, Mon compte, Sécurité");
  await page.getByRole("button", { name: "Quitter vite" }).click();
  await assertLeft(page, length);
  assert.deepEqual(pageProblems({ problems }), []);
});

test("a helper leaves with Escape twice, also from a text field; an Escape that closes the crisis card does not count", async (t) => {
  const server = await serverFor(t, { registration: "open" });
  const { page } = await helperPage(t, server, "aidant.esc");
  await page.getByRole("link", { name: "Liens de contact" }).click();
  await heading(page, "Liens de contact");
  await page.getByRole("button", { name: "Besoin d'aide maintenant ?" }).click();
  await page.getByRole("dialog", { name: "Besoin d'aide maintenant ?" }).waitFor();
  await page.keyboard.press("Escape");  // Closes the card: the dialog's Escape.
  assert.equal(await page.getByRole("dialog").count(), 0);
  await page.keyboard.press("Escape");  // The first of a pair: nothing happens.
  assert.equal(await page.evaluate(() => document.querySelector("h1")?.textContent), "Liens de contact", "still on Cercle");
  assert.ok(page.url().startsWith(server.url));

  await page.getByRole("link", { name: "Conversations" }).click();
  await heading(page, "Conversations");
  await page.reload();  // A fresh page: no Escape pending.
  await heading(page, "Conversations");
  const length = await page.evaluate(() => history.length);
  await page.getByLabel("Pseudonyme de la personne").fill("quelqu'un");
  await page.keyboard.press("Escape");
  await page.keyboard.press("Escape");
  await assertLeft(page, length);
});

test("a Cercle page that loads while an exit goes back through it finishes the exit; a stale exit does not", async (t) => {
  // Browsers that load an older Cercle entry anew (not as a same-page step) land on this path.
  const server = await serverFor(t, { registration: "open" });
  const { page } = await person(t);
  await page.goto(`${server.url}/`);
  await heading(page, "Cercle");
  await page.evaluate(() => sessionStorage.setItem("cercle.exit", String(Date.now() - 20_000)));
  await page.reload();
  await heading(page, "Cercle");  // Older than 10 s: not an exit under way.
  await page.evaluate(() => sessionStorage.setItem("cercle.exit", String(Date.now())));
  await page.reload();
  await page.waitForURL(NEUTRAL);
  await page.goBack();
  assert.equal(page.url(), "about:blank");
});

test("index.html's <meta name=cercle-quick-exit> sets the neutral page; a Cercle address there is refused", async (t) => {
  const server = await serverFor(t, { registration: "open" });
  const { page, context } = await person(t);
  const garden = "https://jardin.example/potager";
  await context.route(`${garden}**`, (r) => r.fulfill({ contentType: "text/html; charset=utf-8", body: "<title>Potager</title>" }));
  let target = garden;
  // The home page as an association would serve it, with the meta added to its head.
  await page.route(`${server.url}/`, async (route) => {
    const response = await route.fetch();
    const headers = { ...response.headers() };
    delete headers["content-encoding"];
    delete headers["content-length"];
    const body = (await response.text()).replace("<head>", `<head><meta name="cercle-quick-exit" content="${target}">`);
    await route.fulfill({ status: response.status(), headers, body });
  });
  await page.goto(`${server.url}/`);
  await heading(page, "Cercle");
  await page.getByRole("button", { name: "Quitter vite" }).click();
  await page.waitForURL(garden);
  target = `${server.url}/#/`;
  await page.goto(`${server.url}/`);
  await heading(page, "Cercle");
  await page.getByRole("button", { name: "Quitter vite" }).click();
  await page.waitForURL(NEUTRAL);
});

test("the crisis card gives France's numbers as tel: and sms: links, in French and English, passes axe, and has its own quick exit", async (t) => {
  const server = await serverFor(t, { registration: "open" });
  const helper = await corePeer(t, server, "pair.aidant");
  const link = await helper.createContactLink("site", 0);
  const { page } = await person(t);
  await page.goto(`${server.url}/c/${link.token}`);
  await heading(page, "Écrire à pair.aidant");
  const open = page.getByRole("button", { name: "Besoin d'aide maintenant ?" });
  await open.click();
  const card = page.getByRole("dialog", { name: "Besoin d'aide maintenant ?" });
  await card.waitFor();
  const links = () => card.getByRole("link").evaluateAll((as) => as.map((a) => [a.textContent, a.getAttribute("href")]));
  assert.deepEqual(await links(), [
    ["Appeler le 3114", "tel:3114"],
    ["Appeler le 15", "tel:15"],
    ["Appeler le 112", "tel:112"],
    ["Envoyer un SMS au 114", "sms:114"],
    ["Appeler le 119", "tel:119"],
    ["Appeler le 3919", "tel:3919"],
  ]);
  const text = await card.textContent();
  for (const words of ["Appelez le 15 ou le 112", "suicide", "sourdes ou malentendantes", "Un enfant est en danger", "Violences faites aux femmes"]) {
    assert.ok(text.includes(words), `the card says "${words}"`);
  }
  await card.getByRole("button", { name: "Quitter vite" }).waitFor();  // The bar behind the modal card is inert.
  assert.equal(await card.getByRole("heading", { name: "L'association" }).count(), 0, "no association contacts configured: no section");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "crisis-title", "focus on the card's title");
  await expectAccessible(page, "crisis card", { names: true });
  await card.getByRole("button", { name: "Fermer" }).click();
  assert.equal(await page.getByRole("dialog").count(), 0);
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Besoin d'aide maintenant ?", "focus back on the button");

  await page.getByRole("button", { name: "Read this page in English" }).click();
  await page.getByRole("button", { name: "Need help now?" }).click();
  const en = page.getByRole("dialog", { name: "Need help now?" });
  await en.waitFor();
  assert.deepEqual(await en.getByRole("link").evaluateAll((as) => as.map((a) => [a.textContent, a.getAttribute("href")])), [
    ["Call 3114", "tel:3114"],
    ["Call 15", "tel:15"],
    ["Call 112", "tel:112"],
    ["Send a text message to 114", "sms:114"],
    ["Call 119", "tel:119"],
    ["Call 3919", "tel:3919"],
  ]);
  await expectAccessible(page, "crisis card, English", { names: true });
  await en.getByRole("button", { name: "Leave quickly" }).click();  // From inside the card.
  await page.waitForURL(NEUTRAL);
});

test("hidden words fold a received message, show it on demand, stay in this browser and are never sent", async (t) => {
  const server = await serverFor(t, { registration: "open" });
  const { page } = await helperPage(t, server, "aidant.mots");
  const sent = [];
  page.on("websocket", (ws) => ws.on("framesent", (f) => sent.push(Buffer.from(f.payload))));
  await page.reload();  // The socket opened after the listener: every frame is seen from here.
  await heading(page, "Conversations");
  await page.getByRole("link", { name: "Sécurité" }).click();
  await heading(page, "Sécurité");
  await page.getByLabel("Mot à cacher").fill("  Orage ");
  await page.getByRole("button", { name: "Cacher ce mot" }).click();
  await page.getByRole("status").filter({ hasText: "Le mot « Orage » est caché." }).waitFor();
  await page.getByLabel("Mot à cacher").fill("orage");
  await page.getByRole("button", { name: "Cacher ce mot" }).click();
  await page.getByText("Ce mot est déjà caché.").waitFor();
  await expectAccessible(page, "safety screen with a hidden word", { names: true });

  const peer = await corePeer(t, server, "lou");
  await peer.startConversation("aidant.mots");
  await peer.sendText("aidant.mots", "Un ORAGÉ arrive ce soir.");
  await peer.sendText("aidant.mots", "Il fait beau, immortel.");
  await page.getByRole("link", { name: "Conversations" }).click();
  await page.getByRole("link", { name: /lou/ }).click();
  await heading(page, "Conversation avec lou");
  await page.locator("ol.messages li.msg .text", { hasText: "Il fait beau, immortel." }).waitFor();
  const folded = page.locator("ol.messages li.msg .folded");
  assert.deepEqual(await folded.allTextContents(), ["Message masqué : il contient un mot que vous avez choisi de cacher."]);
  assert.equal(await page.getByText("arrive ce soir").count(), 0, "the folded text is not on the page");
  assert.ok(!(await said(page)).includes("arrive ce soir"), "nor said by the live region");
  await expectAccessible(page, "conversation with a folded message", { names: true });

  await page.getByRole("button", { name: "Afficher le message de lou" }).click();
  await page.locator("ol.messages li.msg .text", { hasText: "Un ORAGÉ arrive ce soir." }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Un ORAGÉ arrive ce soir.", "focus on the shown text");
  assert.equal(await folded.count(), 0);

  // Kept in this browser: after a reload the message is folded again, the word still listed.
  await page.reload();
  await heading(page, "Conversation avec lou");
  await folded.waitFor();
  await page.getByRole("link", { name: "Sécurité" }).click();
  await page.getByRole("button", { name: "Ne plus cacher « Orage »" }).waitFor();
  await page.getByRole("button", { name: "Read this page in English" }).click();
  await heading(page, "Safety");
  await expectAccessible(page, "safety screen, English", { names: true });
  assert.ok(sent.length > 0, "the page talked to the relay");
  assert.ok(!sent.some((b) => b.toString("latin1").toLowerCase().includes("orage")), "the hidden word never went to the relay");
});

test("a pause hides unread counts and announcements, shows itself on every screen, and ends in one step", async (t) => {
  const server = await serverFor(t, { registration: "open" });
  const { page } = await helperPage(t, server, "aidant.pause");
  await page.getByRole("link", { name: "Sécurité" }).click();
  await heading(page, "Sécurité");
  await page.getByLabel("1 jour").check();
  await page.getByRole("button", { name: "Commencer la pause" }).click();
  const banner = page.locator("header .pause-banner");
  await banner.getByText(/^Pause en cours jusqu'à .+\.$/).waitFor();
  await expectAccessible(page, "safety screen during a pause", { names: true });
  await page.reload();  // Kept in this browser.
  await banner.getByText(/^Pause en cours jusqu'à/).waitFor();
  await page.getByRole("link", { name: "Conversations" }).click();
  await heading(page, "Conversations");

  const peer = await corePeer(t, server, "sam");
  await peer.startConversation("aidant.pause");
  await peer.sendText("aidant.pause", "Message pendant la pause");
  await page.getByRole("link", { name: /sam/ }).waitFor();
  assert.equal(await page.locator(".threads .badge").count(), 0, "no badge");
  assert.equal(await page.locator(".threads").getByText(/nouveau message|Pas de nouveau message/).count(), 0, "no count in words");
  assert.equal(await page.title(), "Conversations – Cercle", "no count in the title");
  await expectAccessible(page, "conversations during a pause", { names: true });

  await banner.getByRole("button", { name: "Arrêter la pause" }).click();
  await banner.waitFor({ state: "hidden" });
  await page.locator(".threads .badge", { hasText: "1 nouveau message" }).waitFor();
  await peer.sendText("aidant.pause", "Message après la pause");
  await eventually("the next message is announced", async () => (await said(page)).includes("Message après la pause"));
  assert.ok(!(await said(page)).includes("pendant la pause"), "the message during the pause was never announced");
  assert.equal(await page.title(), "Conversations – Cercle");
});

test("a pause of 1 hour ends by itself after an hour: the banner goes, the counts come back", async (t) => {
  const server = await serverFor(t, { registration: "open" });
  const { page } = await helperPage(t, server, "aidant.heure", { clock: true });
  await page.getByRole("link", { name: "Sécurité" }).click();
  await heading(page, "Sécurité");
  await page.getByRole("button", { name: "Commencer la pause" }).click();  // "1 heure" is chosen first.
  const banner = page.locator("header .pause-banner");
  await banner.waitFor();
  await page.getByRole("link", { name: "Conversations" }).click();
  await heading(page, "Conversations");
  const peer = await corePeer(t, server, "noa");
  await peer.startConversation("aidant.heure");
  await peer.sendText("aidant.heure", "Bonjour");
  await page.getByRole("link", { name: /noa/ }).waitFor();
  await page.clock.fastForward("59:00");
  assert.ok(await banner.isVisible(), "still on after 59 minutes");
  assert.equal(await page.locator(".threads .badge").count(), 0);
  await page.clock.fastForward("01:02");
  await banner.waitFor({ state: "hidden" });
  await page.locator(".threads .badge", { hasText: "1 nouveau message" }).waitFor();
});

test("the safety kit with the keyboard only: crisis card, hidden word, pause, Escape twice", async (t) => {
  const server = await serverFor(t, { registration: "open" });
  const { page } = await helperPage(t, server, "aidant.clavier");
  await page.evaluate(() => delete document.documentElement.dataset.pointer);

  await tabTo(page, "button", "Besoin d'aide maintenant ?");
  await page.keyboard.press("Enter");
  await page.getByRole("dialog", { name: "Besoin d'aide maintenant ?" }).waitFor();
  await tabTo(page, "a", "Appeler le 3114");
  await page.keyboard.press("Escape");
  assert.equal(await page.getByRole("dialog").count(), 0);
  assert.equal((await focused(page)).label, "Besoin d'aide maintenant ?");

  await tabTo(page, "a", "Sécurité");
  await page.keyboard.press("Enter");
  await heading(page, "Sécurité");
  await tabTo(page, "input", "Mot à cacher");
  await page.keyboard.type("orage");
  await page.keyboard.press("Enter");
  await page.getByRole("button", { name: "Ne plus cacher « orage »" }).waitFor();
  await tabTo(page, "input", "1 heure");
  await page.keyboard.press("ArrowDown");
  assert.ok(await page.getByLabel("1 jour").isChecked());
  await tabTo(page, "button", "Commencer la pause");
  await page.keyboard.press("Enter");
  await page.locator("header .pause-banner").waitFor();
  assert.equal((await focused(page)).label, "Arrêter la pause", "focus on the way to end it");
  await page.keyboard.press("Enter");
  await page.getByRole("status").filter({ hasText: "La pause est finie." }).waitFor();
  assert.ok(await page.locator("header .pause-banner").isHidden());

  const length = await page.evaluate(() => history.length);
  await page.keyboard.press("Escape");
  await page.keyboard.press("Escape");
  await assertLeft(page, length);
});

test("the quick exit and the crisis card are in the first load; the safety screen is loaded when opened", () => {
  const first = firstLoad(DIST).files;
  const firstJs = first.filter((f) => f.file.endsWith(".js")).map((f) => f.file);
  const lazy = everything(DIST).files.filter((f) => /\/safety-screen-[\w-]+\.js$/.test(f.file));
  assert.equal(lazy.length, 1);
  assert.ok(!firstJs.includes(lazy[0].file), "the safety screen is not in the first load");
  const code = firstJs.map((f) => readFileSync(join(DIST, f), "utf8")).join("\n");
  for (const text of ["Quitter vite", "Besoin d'aide maintenant ?", "3114", "3919"]) assert.ok(code.includes(text), `"${text}" is in the first load`);
});

/** Describes the focused element and whether its focus is visible (an outline is drawn). */
function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    const label = el.labels?.[0]?.textContent ?? el.getAttribute("aria-label") ?? el.textContent ?? "";
    return { tag: el.tagName.toLowerCase(), label: label.trim(), visible: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2 };
  });
}

/** Presses Tab until the focused element matches (at most 40 presses); checks focus is visible. */
async function tabTo(page, tag, label) {
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press("Tab");
    const f = await focused(page);
    if (!f) continue;
    assert.ok(f.visible, `focus is not visible on <${f.tag}> "${f.label}"`);
    if (f.tag === tag && f.label.includes(label)) {
      assert.equal(await page.evaluate(() => document.documentElement.dataset.pointer ?? "none"), "none", "no pointer event happened");
      return;
    }
  }
  assert.fail(`could not reach <${tag}> "${label}" with Tab`);
}
