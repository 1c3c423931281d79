// The web client in Debian's Chromium against the real relay: a helper and a visitor in two browser
// contexts, contact link, messages both ways, reload, offline and back, backup and restore, revoked
// link; axe-core on every screen (light and dark), reflow at 360 and 320 px. Each test starts its own
// server and browser contexts (the fixtures below), so any test runs alone or in any order.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { after, before, test } from "node:test";
import { firstLoad } from "../scripts/size.mjs";
import { DIST, eventually, expectAccessible, horizontalOverflow, launchBrowser, pageProblems, personFor, PHONE, serverFor } from "./support.mjs";

let browser;

async function noReflowProblem(page, screen) {
  for (const width of [360, 320]) {
    await page.setViewportSize({ width, height: 740 });
    assert.ok((await horizontalOverflow(page)) <= 0, `horizontal scrolling at ${width} px on "${screen}"`);
  }
  // Text at 200% on a 360 px wide screen: still no horizontal scrolling.
  await page.setViewportSize(PHONE.viewport);
  await page.evaluate(() => (document.documentElement.style.fontSize = "200%"));
  const overflow = await horizontalOverflow(page);
  await page.evaluate(() => (document.documentElement.style.fontSize = ""));
  assert.ok(overflow <= 0, `horizontal scrolling with text at 200% on "${screen}" (${overflow} px)`);
}

const messages = (page) => page.locator("ol.messages li.msg .text").allTextContents();
const connText = (page) => page.locator(".conn-text");
const bubble = (page, text) => page.locator("ol.messages li.msg .text", { hasText: text });

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

const FIRST = "Bonjour, j'aimerais parler à quelqu'un.";
const ANSWER = "Bonjour camille, je vous écoute.";

/** A server with one registration code, and "aidante" signed in on the conversations page. */
async function helperAccount(t) {
  const server = await serverFor(t, { registration: "invite-code", codes: 1 });
  const helper = await personFor(t, browser, PHONE);
  const { page } = helper;
  await page.goto(`${server.url}/`);
  await page.getByLabel("Pseudonyme").fill("aidante");
  await page.getByLabel("Code d'inscription").fill(server.codes[0]);
  await page.getByRole("button", { name: "Créer mon compte" }).click();
  await page.getByRole("heading", { level: 1, name: "Conversations" }).waitFor();
  await connText(page).filter({ hasText: "Connecté." }).waitFor();
  return { server, helper };
}

/** The helper's contact link "site de l'association", made on the links page; returns its address. */
async function createLink(page) {
  await page.getByRole("link", { name: "Liens de contact" }).click();
  await page.getByRole("heading", { level: 1, name: "Liens de contact" }).waitFor();
  await page.getByLabel("Nom du lien").fill("site de l'association");
  await page.getByLabel("Durée du lien").selectOption("168");
  await page.getByRole("button", { name: "Créer le lien" }).click();
  const address = page.getByLabel("Adresse du lien « site de l'association »");
  await address.waitFor();
  return address.inputValue();
}

/** "camille" opens the link in her own browser context, registers and reaches the conversation. */
async function visitorAccount(t, linkUrl) {
  const visitor = await personFor(t, browser, PHONE);
  const { page } = visitor;
  await page.goto(linkUrl);
  await page.getByLabel("Choisissez un pseudonyme").fill("camille");
  await page.getByRole("button", { name: "Commencer" }).click();
  await page.getByRole("heading", { level: 1, name: "Conversation avec aidante" }).waitFor();
  await connText(page).filter({ hasText: "Connecté." }).waitFor();
  return visitor;
}

async function send(page, text) {
  await page.getByLabel("Votre message").fill(text);
  await page.getByRole("button", { name: "Envoyer" }).click();
}

/**
 * A conversation: camille came by aidante's link and wrote FIRST; aidante answered ANSWER and is on
 * the conversation's page, camille sees the answer.
 */
async function conversation(t) {
  const { server, helper } = await helperAccount(t);
  const linkUrl = await createLink(helper.page);
  const visitor = await visitorAccount(t, linkUrl);
  await send(visitor.page, FIRST);
  await visitor.page.locator("li.msg.mine .status", { hasText: "Envoyé" }).waitFor();
  await helper.page.goto(`${server.url}/#/t/camille`);
  await bubble(helper.page, FIRST).waitFor();
  await send(helper.page, ANSWER);
  await bubble(visitor.page, ANSWER).waitFor();
  return { server, helper, visitor, linkUrl };
}

test("the home page is plain, accessible in French and English, and reflows on a small screen", async (t) => {
  const server = await serverFor(t, { registration: "invite-code" });
  const helper = await personFor(t, browser, PHONE);
  const { page } = helper;
  await page.goto(`${server.url}/`);
  await page.getByRole("button", { name: "Créer mon compte" }).waitFor();
  assert.equal(await page.getAttribute("html", "lang"), "fr");
  await page.getByLabel("Code d'inscription").waitFor();
  await expectAccessible(page, "accueil", { dark: false, reflow: false });
  await noReflowProblem(page, "accueil");
  await page.getByRole("button", { name: "English" }).click();
  await page.getByRole("button", { name: "Create my account" }).waitFor();
  assert.equal(await page.getAttribute("html", "lang"), "en");
  await expectAccessible(page, "home (English)", { dark: false, reflow: false });
  await page.getByRole("button", { name: "Français" }).click();
  await page.getByRole("button", { name: "Créer mon compte" }).waitFor();
  assert.deepEqual(pageProblems(helper), []);
});

test("registration errors are said in words next to the field", async (t) => {
  const server = await serverFor(t, { registration: "invite-code" });
  const { page } = await personFor(t, browser, PHONE);
  await page.goto(`${server.url}/`);
  await page.getByLabel("Pseudonyme").fill("aidante");
  await page.getByLabel("Code d'inscription").fill("mauvais-code");
  await page.getByRole("button", { name: "Créer mon compte" }).click();
  await page.getByText("Ce code ne marche pas.").waitFor();
  assert.equal(await page.getByLabel("Code d'inscription").getAttribute("aria-invalid"), "true");
  await expectAccessible(page, "accueil avec erreur", { dark: false, reflow: false });
});

test("a helper creates an account with a code, then a contact link", async (t) => {
  const server = await serverFor(t, { registration: "invite-code", codes: 1 });
  const { page } = await personFor(t, browser, PHONE);
  await page.goto(`${server.url}/`);
  await page.getByLabel("Pseudonyme").fill("aidante");
  await page.getByLabel("Code d'inscription").fill(server.codes[0]);
  await page.getByRole("button", { name: "Créer mon compte" }).click();
  await page.getByRole("heading", { level: 1, name: "Conversations" }).waitFor();
  await connText(page).filter({ hasText: "Connecté." }).waitFor();
  await page.getByText("Pas encore de conversation.").waitFor();
  await expectAccessible(page, "conversations (vide)", { dark: false, reflow: false });
  await noReflowProblem(page, "conversations");

  await page.getByRole("link", { name: "Liens de contact" }).click();
  await page.getByRole("heading", { level: 1, name: "Liens de contact" }).waitFor();
  await page.getByText("Pas encore de lien.").waitFor();
  await page.getByLabel("Nom du lien").fill("site de l'association");
  await page.getByLabel("Durée du lien").selectOption("168");
  await page.getByRole("button", { name: "Créer le lien" }).click();
  const address = page.getByLabel("Adresse du lien « site de l'association »");
  await address.waitFor();
  const linkUrl = await address.inputValue();
  assert.match(linkUrl, new RegExp(`^${server.url}/c/[A-Za-z0-9_-]{16,}$`));
  await page.getByText(/^Actif jusqu'au/).waitFor();
  await expectAccessible(page, "liens de contact", { dark: false, reflow: false });
  await noReflowProblem(page, "liens de contact");
});

test("a visitor opens the link in another browser, picks a pseudonym and writes", async (t) => {
  const { helper } = await helperAccount(t);
  const linkUrl = await createLink(helper.page);
  const visitor = await personFor(t, browser, PHONE);
  const { page } = visitor;
  const fetched = [];
  page.on("request", (r) => fetched.push(new URL(r.url()).pathname));
  await page.goto(linkUrl);
  await page.getByRole("heading", { level: 1, name: "Écrire à aidante" }).waitFor();
  await page.getByText("Votre conversation est gardée seulement sur cet appareil, dans ce navigateur.", { exact: false }).waitFor();
  await expectAccessible(page, "lien de contact (visiteur)", { dark: false, reflow: false });
  await noReflowProblem(page, "lien de contact");
  await page.getByLabel("Choisissez un pseudonyme").fill("camille");
  await page.getByRole("button", { name: "Commencer" }).click();
  await page.getByRole("heading", { level: 1, name: "Conversation avec aidante" }).waitFor();
  await connText(page).filter({ hasText: "Connecté." }).waitFor();
  await page.getByText("Pas encore de message.").waitFor();
  await expectAccessible(page, "conversation (visiteur, vide)", { dark: false, reflow: false });
  await page.getByLabel("Votre message").fill("Bonjour, j'aimerais parler à quelqu'un.");
  await page.getByRole("button", { name: "Envoyer" }).click();
  await page.locator("li.msg.mine .status", { hasText: "Envoyé" }).waitFor();
  assert.deepEqual(await messages(page), ["Bonjour, j'aimerais parler à quelqu'un."]);
  await expectAccessible(page, "conversation (visiteur)", { dark: false, reflow: false });
  await noReflowProblem(page, "conversation");
  // The visitor fetched the first load and the conversation screen, none of the other screens.
  const first = new Set(firstLoad(DIST).files.map((f) => `/${f.file}`));
  assert.ok([...first].every((f) => f === "/index.html" || fetched.includes(f)), `first load: ${[...first]}; fetched: ${fetched}`);
  const screens = fetched.filter((f) => /^\/assets\/(devices|backup|home|links|list|verify|account|conversation|i18n-en)-/.test(f)).map((f) => basename(f).split("-")[0]);
  assert.deepEqual(screens, ["conversation"]);
  assert.deepEqual(pageProblems(visitor), []);
});

test("the helper sees the unread count, reads and answers; the visitor is told by the live region", async (t) => {
  const { helper } = await helperAccount(t);
  const visitor = await visitorAccount(t, await createLink(helper.page));
  await send(visitor.page, FIRST);
  const { page } = helper;
  await page.getByRole("link", { name: "Conversations", exact: true }).click();
  const thread = page.getByRole("link", { name: /camille.*1 nouveau message/ });
  await thread.waitFor();
  await expectAccessible(page, "conversations (non lu)", { dark: false, reflow: false });
  await thread.click();
  await page.getByRole("heading", { level: 1, name: "Conversation avec camille" }).waitFor();
  await bubble(page, "Bonjour, j'aimerais parler à quelqu'un.").waitFor();
  await expectAccessible(page, "conversation (aidante)", { dark: false, reflow: false });
  await page.getByLabel("Votre message").fill("Bonjour camille, je vous écoute.");
  await page.getByRole("button", { name: "Envoyer" }).click();
  await page.locator("li.msg.mine .status", { hasText: "Envoyé" }).waitFor();

  await bubble(visitor.page, "Bonjour camille, je vous écoute.").waitFor();
  await eventually("the live region announces the new message", async () =>
    (await visitor.page.locator("[aria-live=polite]").textContent()) === "Nouveau message de aidante : Bonjour camille, je vous écoute.",
  );
  await page.getByRole("link", { name: "Retour aux conversations" }).click();
  await page.getByRole("link", { name: /camille.*Pas de nouveau message/ }).waitFor();
});

test("both still see the history after a reload", async (t) => {
  const { server, helper, visitor } = await conversation(t);
  const expected = ["Bonjour, j'aimerais parler à quelqu'un.", "Bonjour camille, je vous écoute."];
  await visitor.page.reload();
  await visitor.page.getByRole("heading", { level: 1, name: "Conversation avec aidante" }).waitFor();
  await eventually("visitor's history", async () => JSON.stringify(await messages(visitor.page)) === JSON.stringify(expected));
  await helper.page.goto(`${server.url}/#/t/camille`);
  await helper.page.reload();
  await helper.page.getByRole("heading", { level: 1, name: "Conversation avec camille" }).waitFor();
  await eventually("helper's history", async () => JSON.stringify(await messages(helper.page)) === JSON.stringify(expected));
  await connText(visitor.page).filter({ hasText: "Connecté." }).waitFor();
  await connText(helper.page).filter({ hasText: "Connecté." }).waitFor();
});

test("the visitor's page goes offline, says so, and catches up when back, without duplicates", async (t) => {
  const { helper, visitor } = await conversation(t);
  const before = await messages(visitor.page);
  await visitor.context.setOffline(true);
  await connText(visitor.page).filter({ hasText: "Pas d'internet sur cet appareil." }).waitFor();
  await visitor.page.getByRole("button", { name: "Réessayer maintenant" }).waitFor();
  await expectAccessible(visitor.page, "conversation hors ligne", { dark: false, reflow: false });

  // Written while offline: kept, and sent when the connection is back.
  await visitor.page.getByLabel("Votre message").fill("Écrit sans connexion.");
  await visitor.page.getByRole("button", { name: "Envoyer" }).click();
  await visitor.page.locator("li.msg.mine .status", { hasText: "En attente de connexion" }).waitFor();

  for (const text of ["Premier message pendant la coupure.", "Deuxième message pendant la coupure."]) {
    await helper.page.getByLabel("Votre message").fill(text);
    await helper.page.getByRole("button", { name: "Envoyer" }).click();
  }
  await eventually("helper's two messages accepted", async () => (await helper.page.locator("li.msg.mine .status", { hasText: "Envoyé" }).count()) === 3);
  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual(await messages(visitor.page), [...before, "Écrit sans connexion."], "nothing arrives while offline");

  await visitor.context.setOffline(false);
  await connText(visitor.page).filter({ hasText: "Connecté." }).waitFor({ timeout: 20_000 });
  const expected = [...before, "Écrit sans connexion.", "Premier message pendant la coupure.", "Deuxième message pendant la coupure."];
  await eventually("catch-up", async () => (await messages(visitor.page)).length >= expected.length);
  await visitor.page.locator("li.msg.mine .status", { hasText: "En attente de connexion" }).waitFor({ state: "detached" });
  await bubble(helper.page, "Écrit sans connexion.").waitFor();
  // Once more, to see that nothing comes twice.
  await visitor.page.reload();
  await visitor.page.getByRole("heading", { level: 1, name: "Conversation avec aidante" }).waitFor();
  await connText(visitor.page).filter({ hasText: "Connecté." }).waitFor();
  await new Promise((r) => setTimeout(r, 500));
  const got = await messages(visitor.page);
  assert.deepEqual([...got].sort(), [...expected].sort(), "every message exactly once");
  assert.equal(new Set(got).size, got.length);
});

test("a second tab of the same browser says Cercle is open elsewhere (one tab holds the keys)", async (t) => {
  const { server, helper } = await helperAccount(t);
  const second = await helper.context.newPage();
  await second.goto(`${server.url}/`);
  await second.getByRole("heading", { level: 1, name: "Cercle est déjà ouvert" }).waitFor();
  await expectAccessible(second, "autre onglet", { dark: false, reflow: false });
  await second.close();
});

test("the account page warns about clearing browser data and makes a backup that restores elsewhere", async (t) => {
  const { server, helper, visitor } = await conversation(t);
  const { page } = visitor;
  await page.getByRole("link", { name: "Mon compte" }).click();
  await page.getByRole("heading", { level: 1, name: "Mon compte" }).waitFor();
  await page.getByRole("heading", { level: 2, name: "Si les données de ce navigateur sont effacées" }).waitFor();
  await expectAccessible(page, "mon compte", { dark: false, reflow: false });
  await noReflowProblem(page, "mon compte");
  await page.getByLabel("Phrase secrète", { exact: true }).fill("court");
  await page.getByRole("button", { name: "Télécharger la sauvegarde" }).click();
  await page.getByText("La phrase secrète est trop courte").waitFor();
  await page.getByLabel("Phrase secrète", { exact: true }).fill("le chat dort sur le canapé");
  await page.getByLabel("Répétez la phrase secrète").fill("le chat dort sur le canapé");
  const [download] = await Promise.all([
    page.waitForEvent("download", { timeout: 30_000 }),
    page.getByRole("button", { name: "Télécharger la sauvegarde" }).click(),
  ]);
  const file = readFileSync(await download.path(), "utf8");
  assert.ok(!file.includes("camille, je vous écoute"), "the backup is encrypted");
  await page.getByText("Sauvegarde téléchargée.").waitFor();

  const other = await personFor(t, browser, PHONE);
  await other.page.goto(`${server.url}/`);
  await other.page.getByRole("button", { name: "Récupérer mon compte" }).waitFor();
  const upload = { name: "cercle-camille.cercle", mimeType: "application/json", buffer: Buffer.from(file) };
  await other.page.getByLabel("Fichier de sauvegarde").setInputFiles(upload);
  await other.page.getByLabel("Phrase secrète").fill("pas la bonne phrase");
  await other.page.getByRole("button", { name: "Récupérer mon compte" }).click();
  await other.page.getByText("La phrase secrète ne correspond pas à ce fichier.").waitFor({ timeout: 30_000 });
  await expectAccessible(other.page, "récupérer (erreur)", { dark: false, reflow: false });
  await other.page.getByLabel("Phrase secrète").fill("le chat dort sur le canapé");
  await other.page.getByRole("button", { name: "Récupérer mon compte" }).click();
  await other.page.getByRole("heading", { level: 1, name: "Conversation avec aidante" }).waitFor({ timeout: 30_000 });
  await bubble(other.page, "Bonjour camille, je vous écoute.").waitFor();
  await other.page.getByLabel("Votre message").fill("Je suis sur mon autre téléphone.");
  await other.page.getByRole("button", { name: "Envoyer" }).click();
  await bubble(helper.page, "Je suis sur mon autre téléphone.").waitFor({ timeout: 20_000 });
  assert.deepEqual(pageProblems(other), []);
});

test("a revoked link says so in plain words", async (t) => {
  const { helper, linkUrl } = await conversation(t);
  const { page } = helper;
  await page.getByRole("link", { name: "Liens de contact" }).click();
  await page.getByText("Personnes venues par ce lien : 1.").waitFor();
  await page.getByRole("button", { name: "Arrêter ce lien : « site de l'association »" }).click();
  await page.getByRole("button", { name: "Oui, arrêter ce lien" }).click();
  await page.getByText("Arrêté.", { exact: true }).waitFor();
  await expectAccessible(page, "liens de contact (annulé)", { dark: false, reflow: false });
  const late = await personFor(t, browser, PHONE);
  await late.page.goto(linkUrl);
  await late.page.getByRole("heading", { level: 1, name: "Ce lien ne marche pas" }).waitFor();
  await expectAccessible(late.page, "lien annulé", { dark: false, reflow: false });
});

test("the dark colour scheme passes axe as well", async (t) => {
  const { server, helper, visitor } = await conversation(t);
  for (const [who, path, screen] of [
    [helper, "/#/", "conversations"],
    [helper, "/#/t/camille", "conversation"],
    [helper, "/#/links", "liens"],
    [visitor, "/#/account", "mon compte"],
  ]) {
    await who.page.emulateMedia({ colorScheme: "dark" });
    await who.page.goto(`${server.url}${path}`);
    await who.page.locator("h1").first().waitFor();
    await connText(who.page).filter({ hasText: "Connecté." }).waitFor();
    await expectAccessible(who.page, `${screen} (sombre)`, { dark: false, reflow: false });
    await who.page.emulateMedia({ colorScheme: "light" });
  }
});

test("no page error and no blocked script or style on any screen (the relay's strict CSP holds)", async (t) => {
  const { server, helper, visitor } = await conversation(t);
  const screens = [
    [helper, "#/", "Conversations"],
    [helper, "#/links", "Liens de contact"],
    [helper, "#/account", "Mon compte"],
    [helper, "#/devices", "Mes appareils"],
    [helper, "#/v/camille/camille", "Vérifier camille"],
    [visitor, "#/account", "Mon compte"],
    [visitor, "#/devices", "Mes appareils"],
  ];
  for (const [who, hash, title] of screens) {
    await who.page.goto(`${server.url}/${hash}`);
    await who.page.getByRole("heading", { level: 1, name: title }).waitFor();
  }
  const stranger = await personFor(t, browser, PHONE);
  await stranger.page.goto(`${server.url}/`);
  await stranger.page.getByRole("button", { name: "Créer mon compte" }).waitFor();
  await stranger.page.getByRole("button", { name: "English" }).click();
  await stranger.page.getByRole("button", { name: "Create my account" }).waitFor();
  await stranger.page.goto(`${server.url}/#/join`);
  await stranger.page.getByRole("heading", { level: 1, name: "Use my account on this device" }).waitFor();
  for (const who of [helper, visitor, stranger]) assert.deepEqual(pageProblems(who), []);
});
