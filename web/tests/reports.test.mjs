// Reports in Debian's Chromium at 360 px against the real relay (issue 13, item 2). A web member
// reports a message of a web facilitator's group; the facilitator hears "Nouveau signalement dans
// Les Lucioles." in the polite live region, reads the report in the group's inbox with the message
// in its place in the history, after a reload too (kept in IndexedDB; a report made while the page
// was closed comes at sign-in), and acts in one step with the keyboard only: delete for everyone,
// close, stop the author writing, ban the author; the relay and the author's client see each effect.
// Reports a member forges (signed by another key, naming another reporter) are never shown. A member
// reports a message to the association's admins after a confirmation screen; cercle-admin lists it
// and the admins' answer shows beside the message. axe-core (light and dark, French and English, at
// 360 px) on the inbox and the confirmation. CERCLE_SCREENSHOTS=<dir> keeps the guide's picture of
// the inbox (docs/images/reports-inbox.png).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { facilitator as f, groupKey, MemoryStore, Messenger, reports as r } from "../build-node/core.mjs";
import { eventually, expectAccessible, launchBrowser, newPerson, PHONE, registerInPage, shot, startServer } from "./support.mjs";

let server, browser, camille, sam, alex, lou, id;
const nodes = [];

async function nodePerson(handle, code) {
  const m = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "cercle-test-reports", keyPackageStock: 3 });
  await m.register(handle, { code });
  assert.ok(await m.waitOnline(10_000));
  nodes.push(m);
  await eventually(`${handle}'s key packages`, async () => (await f.wireOf(m).call({ case: "countKeyPackages", value: {} }, "countKeyPackages")).hasLastResort);
  return m;
}

const announcer = (page) => page.locator('main > div[aria-live="polite"]');
const status = (page) => page.locator(".report-inbox p.notice[role=status]");
const items = (page) => page.locator("li.report-item");
const nodeTexts = async (m) => (await f.groupMessages(m, id)).filter((x) => !x.event).map((x) => x.text);

/** Presses Tab until the focused element's accessible text is `name` (bounded), then Enter. */
async function tabAndPress(page, name) {
  for (let i = 0; i < 120; i++) {
    await page.keyboard.press("Tab");
    const here = await page.evaluate(() => {
      const el = document.activeElement;
      return el ? el.getAttribute("aria-label") || el.textContent.trim() : "";
    });
    if (here === name) return page.keyboard.press("Enter");
  }
  throw new Error(`no focusable "${name}" within 120 Tab presses`);
}

/** Sam (web) reports `text`, written by alex, to the facilitators with `reason`. */
async function samReports(text, reason) {
  const page = sam.page;
  await page.locator("li.msg", { hasText: text }).getByRole("button", { name: "Signaler le message de alex" }).click();
  await page.getByLabel("Pourquoi ? (pas obligatoire)").fill(reason);
  await page.getByRole("button", { name: "Envoyer le signalement" }).click();
  await page.locator("li.msg", { hasText: text }).getByText("Vous avez signalé ce message à l'animation.").waitFor();
}

before(async () => {
  server = await startServer({ registration: "invite-code", codes: 4 });
  browser = await launchBrowser();
  camille = await newPerson(browser, PHONE);
  sam = await newPerson(browser, PHONE);
  await registerInPage(camille.page, server.url, "camille", server.codes[0]);
  await registerInPage(sam.page, server.url, "sam", server.codes[1]);
  alex = await nodePerson("alex", server.codes[2]);
  lou = await nodePerson("lou", server.codes[3]);
  const page = camille.page;
  await page.getByRole("link", { name: "Créer un groupe" }).click();
  await page.getByLabel("Nom du groupe").fill("Les Lucioles");
  await page.getByLabel("Pseudonymes des personnes à ajouter (si vous voulez)").fill("sam, alex, lou");
  await page.getByRole("button", { name: "Créer le groupe" }).click();
  await page.getByRole("heading", { level: 1, name: "Gérer le groupe Les Lucioles" }).waitFor({ timeout: 30_000 });
  id = /#\/ga\/([0-9a-f]+)/.exec(page.url())[1];
  await eventually("alex and lou joined", () => f.holdsGroup(alex, id) && f.holdsGroup(lou, id), 30_000);
  for (const text of ["Avant 1", "Avant 2", "Le message déplacé", "Après 1", "Après 2"]) await alex.sendText(groupKey(id), text);
  await page.getByRole("link", { name: "Retour aux messages du groupe" }).click();
  await sam.page.goto(`${server.url}/#/g/${id}`);
  for (const p of [page, sam.page]) await p.locator("li.msg", { hasText: "Après 2" }).waitFor({ timeout: 30_000 });
});

after(async () => {
  for (const m of nodes) m.stop();
  await browser?.close();
  await server?.stop();
});

test("a member's report reaches the web facilitator's inbox, live and after a reload, with the message in context", async () => {
  const page = camille.page;
  await page.getByRole("link", { name: "Signalements : aucun à lire" }).waitFor();
  await samReports("Le message déplacé", "Ce n'est pas gentil.");
  await eventually("the live region says it", async () => (await announcer(page).textContent()) === "Nouveau signalement dans Les Lucioles.");
  await page.getByRole("link", { name: "1 signalement à lire" }).click();
  await page.getByRole("heading", { level: 1, name: "Signalements – Les Lucioles" }).waitFor();
  const item = items(page).first();
  await item.getByRole("heading", { level: 2, name: "Signalement de sam" }).waitFor();
  await item.getByText("Sa raison : Ce n'est pas gentil.").waitFor();
  assert.deepEqual(await item.locator(".report-context li .text").allTextContents(), ["Avant 1", "Avant 2", "Le message déplacé", "Après 1", "Après 2"]);
  assert.equal(await item.locator(".report-context li.reported .text").textContent(), "Le message déplacé");
  await item.locator(".report-context li.reported").getByText("Message signalé").waitFor();
  await expectAccessible(page, "boîte des signalements", { names: true });
  await shot(page, "reports-inbox");
  await page.getByRole("button", { name: "English" }).click();
  await page.getByRole("heading", { level: 1, name: "Reports – Les Lucioles" }).waitFor();
  await items(page).first().getByText("Their reason: Ce n'est pas gentil.").waitFor();
  await expectAccessible(page, "report inbox (English)", { names: true });
  await page.getByRole("button", { name: "Français" }).click();
  await page.getByRole("heading", { level: 1, name: "Signalements – Les Lucioles" }).waitFor();

  // Kept in IndexedDB: after a reload it is there once (acknowledged, the relay does not send it again).
  await page.reload();
  await items(page).first().getByText("Sa raison : Ce n'est pas gentil.").waitFor();
  // A report made while the facilitator's page is closed arrives at sign-in.
  await page.goto("about:blank");
  await samReports("Après 1", "Encore.");
  await page.goto(`${server.url}/#/gr/${id}`);
  await items(page).nth(1).getByText("Sa raison : Encore.").waitFor({ timeout: 30_000 });
  await page.reload();
  await items(page).nth(1).getByText("Sa raison : Encore.").waitFor();
  assert.equal(await items(page).count(), 2);
});

test("reports a member forges (another key's signature, another reporter named) are never shown", async () => {
  const page = camille.page;
  const seq = (await f.groupMessages(lou, id)).find((x) => x.text === "Avant 1").seq;
  await r.forge(lou, id, seq, { text: "signé par une autre clé", signer: "other" });
  await r.forge(lou, id, seq, { text: "au nom de sam", reporter: "sam" });
  // The round trip: lou's genuine report, sent after them, shows; the forged ones never do.
  await r.forge(lou, id, seq, { text: "Avant 1" });
  await page.getByRole("heading", { level: 2, name: "Signalement de lou" }).waitFor();
  assert.equal(await items(page).count(), 3);
  assert.equal(await page.getByText("signé par une autre clé", { exact: false }).count(), 0);
  assert.equal(await page.getByText("au nom de sam", { exact: false }).count(), 0);
});

test("keyboard only, one step each: delete for everyone, close, stop the author writing, ban; the others see each effect", async () => {
  const page = camille.page;
  // From the group's page to the inbox with the keyboard.
  await page.goto(`${server.url}/#/g/${id}`);
  await page.getByRole("heading", { level: 1, name: "Les Lucioles" }).waitFor();
  await tabAndPress(page, "3 signalements à lire");
  await page.getByRole("heading", { level: 1, name: "Signalements – Les Lucioles" }).waitFor();
  await items(page).nth(2).waitFor();
  // Delete the reported message (sam's first report).
  await tabAndPress(page, "Supprimer pour tout le monde le message de alex");
  await status(page).getByText("Le message est supprimé pour tout le monde. Le signalement est fermé.").waitFor();
  assert.equal(await status(page).evaluate((el) => el === document.activeElement), true);
  await eventually("alex's copy is gone", async () => !(await nodeTexts(alex)).includes("Le message déplacé"));
  await eventually("two reports left", async () => (await items(page).count()) === 2);
  // Close lou's report without acting.
  await tabAndPress(page, "Fermer le signalement de lou");
  await status(page).getByText("Le signalement est fermé.", { exact: true }).waitFor();
  await eventually("one report left", async () => (await items(page).count()) === 1);
  // Stop alex writing (sam's second report).
  await tabAndPress(page, "Empêcher alex d'écrire");
  await status(page).getByText("alex ne peut plus écrire. Le signalement est fermé.").waitFor();
  await eventually("alex's client knows it is muted", () => alex.groupView(groupKey(id))?.rules?.mutedMe === true);
  await page.getByText("Aucun signalement à lire.").waitFor();
  // A new report on alex, then the ban.
  await samReports("Après 2", "Il recommence.");
  await page.getByRole("heading", { level: 2, name: "Signalement de sam" }).waitFor();
  await tabAndPress(page, "Exclure alex");
  await status(page).getByText("alex est exclu du groupe. Le signalement est fermé.").waitFor({ timeout: 30_000 });
  await eventually("alex is out of the group", () => alex.groupView(groupKey(id))?.left === true, 30_000);
  assert.deepEqual((await f.rulesOf(lou, id)).banned, ["alex"]);
  await expectAccessible(page, "boîte des signalements, vide", { names: true });
  await page.getByRole("link", { name: "Retour au groupe" }).click();
  await page.getByRole("link", { name: "Signalements : aucun à lire" }).waitFor();
});

test("a member reports a message to the association's admins after a plain confirmation; the answer shows beside it", async () => {
  const page = sam.page;
  await page.locator("li.msg", { hasText: "Avant 2" }).getByRole("button", { name: "Signaler le message de alex" }).click();
  await page.getByLabel("Pourquoi ? (pas obligatoire)").fill("Une menace.");
  await page.getByRole("button", { name: "Signaler à l'association" }).click();
  const ask = page.getByRole("group", { name: "Montrer ce message à l'association ?" });
  await ask.getByText("Les admins de l'association qui héberge Cercle vont lire le texte de ce message.").waitFor();
  await ask.getByText("Seulement ce message. Ils ne lisent pas les autres messages du groupe.").waitFor();
  await ask.getByText("Ils sauront que c'est vous qui signalez.").waitFor();
  assert.equal(await ask.locator("blockquote").textContent(), "Avant 2");
  assert.equal(await page.getByRole("heading", { level: 3, name: "Montrer ce message à l'association ?" }).evaluate((el) => el === document.activeElement), true);
  await expectAccessible(page, "signaler à l'association", { names: true });
  // "Non, revenir" goes back to the form; then yes.
  await ask.getByRole("button", { name: "Non, revenir" }).click();
  await page.getByRole("button", { name: "Signaler à l'association" }).click();
  await page.getByRole("button", { name: "Oui, montrer ce message à l'association" }).click();
  const line = page.locator("li.msg", { hasText: "Avant 2" });
  await line.getByText("Vous avez signalé ce message à l'association. Sa réponse s'affichera ici.").waitFor();
  const listed = server.admin("report", "list");
  const number = /^#(\d+)\tsam\tconversation ([0-9a-f]+) message \d+\n  text: Avant 2\n  reason: Une menace\./m.exec(listed);
  assert.ok(number, listed);
  assert.equal(number[2], id);
  server.admin("report", "answer", number[1], "Merci, nous avons prévenu l'animation.");
  await line.getByText("Réponse de l'association : Merci, nous avons prévenu l'animation.").waitFor();
  await eventually("the live region says it", async () => (await announcer(page).textContent()) === "L'association a répondu à votre signalement.");
});
