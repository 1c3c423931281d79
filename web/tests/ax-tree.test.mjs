// What Chromium gives a screen reader (issue 13, item 5), read through the DevTools protocol at
// 360 px, in French and English: on every screen reachable without special setup and on the main
// screens of each role (home, the contact link page and a broken one, the visitor's conversation,
// the helper's list, links and the question before stopping one, account and the two steps of
// deleting it, devices, pairing, safety, the crisis card, verify, invitations, a group and its
// report dialog, the facilitator's create and admin screens) every control reached with Tab has a role and a name;
// a group message's node reads "who, role, time: text" in that order. The check itself is shown
// to fail on a page with an unnamed button, a focusable div without a role and a button under
// aria-hidden.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { controlsWithoutNameOrRole, expectNamedControls, spokenText } from "./ax-tree.mjs";
import { eventually, launchBrowser, personFor, PHONE, registerInPage, serverFor, toEnglish, toFrench } from "./support.mjs";

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/** Switches the page's language with its button, again if a redraw swallowed the click (bounded). */
async function switchTo(page, lang) {
  for (let i = 0; i < 3; i++) {
    await (lang === "en" ? toEnglish(page) : toFrench(page)).catch(() => {});
    const done = await page.waitForFunction((l) => document.documentElement.lang === l, lang, { timeout: 5_000 }).then(() => true, () => false);
    if (done) return;
  }
  assert.fail(`the page did not switch to ${lang}`);
}

/** Opens every disclosure (member lists, device codes), so that the controls inside are checked too. */
const openAll = (page) => page.evaluate(() => document.querySelectorAll("details").forEach((d) => (d.open = true)));
/** Every control named (disclosures opened), in French then English; the page is left in French. */
async function checkBoth(page, screen, wait) {
  await wait?.();
  await openAll(page);
  await expectNamedControls(page, screen);
  await switchTo(page, "en");
  await openAll(page);  // The screen is drawn again in English.
  await expectNamedControls(page, `${screen} (English)`);
  await switchTo(page, "fr");
  await wait?.();
}

const heading = (page, name) => page.getByRole("heading", { level: 1, name }).waitFor();

test("the check names a button without a name, a focusable div without a role and a control hidden from readers, and skips hidden ones", async (t) => {
  const { page } = await personFor(t, browser, PHONE);
  await page.setContent(
    '<main><button id="empty"></button><div tabindex="0" class="fake">Envoyer</div><button>OK</button>' +
      '<button hidden></button><details><summary>Plus</summary><button></button></details><a href="#x">Lien</a>' +
      '<div aria-hidden="true"><button class="ghost">Caché</button></div></main>',
  );
  const found = await controlsWithoutNameOrRole(page);
  assert.deepEqual(found.map((f) => [f.role, f.name]), [["button", ""], ["generic", ""], ["(aria-hidden)", ""]]);
  assert.match(found[2].element, /^<button class="ghost">Caché<\/button>/);
  assert.match(found[0].element, /^<button id="empty"><\/button>/);
  assert.match(found[1].element, /^<div tabindex="0" class="fake">Envoyer<\/div>/);
  await assert.rejects(expectNamedControls(page, "test page"), (err) => /<button id="empty">/.test(err.message) && /<div tabindex="0" class="fake">/.test(err.message));
  // Named and given a role, the same page passes.
  await page.evaluate(() => {
    document.querySelector("#empty").setAttribute("aria-label", "Fermer");
    document.querySelector(".fake").setAttribute("role", "button");
    document.querySelector(".ghost").remove();
  });
  assert.deepEqual(await controlsWithoutNameOrRole(page), []);
});

test("a visitor's and a helper's screens: every control has a role and a name, in French and English", async (t) => {
  const server = await serverFor(t, { registration: "open" });
  const helper = await personFor(t, browser, PHONE);
  const hp = helper.page;
  await hp.goto(`${server.url}/`);
  await checkBoth(hp, "accueil", () => hp.locator("main h1").first().waitFor());
  await registerInPage(hp, server.url, "pair.aidant");
  await checkBoth(hp, "conversations");
  await hp.getByRole("link", { name: "Liens de contact" }).click();
  await hp.getByLabel("Nom du lien").fill("site");
  await hp.getByRole("button", { name: "Créer le lien" }).click();
  const address = await hp.locator("input.url").first().inputValue();
  await checkBoth(hp, "liens de contact");
  await hp.getByRole("button", { name: "Arrêter ce lien : « site »" }).click();
  await hp.getByRole("button", { name: "Non, garder ce lien" }).waitFor();
  await expectNamedControls(hp, "arrêter un lien (question)");
  await hp.getByRole("button", { name: "Non, garder ce lien" }).click();
  for (const [name, hash] of [["Mon compte", "#/account"], ["Mes appareils", "#/devices"], ["Sécurité", "#/safety"]]) {
    await hp.goto(`${server.url}/${hash}`);
    await checkBoth(hp, name, () => hp.locator("main h1").first().waitFor());
  }
  await hp.goto(`${server.url}/#/account`);
  await hp.getByRole("button", { name: "Supprimer mon compte" }).click();
  await hp.getByRole("button", { name: "Continuer" }).waitFor();
  await expectNamedControls(hp, "supprimer le compte, étape 1");
  await hp.getByRole("button", { name: "Continuer" }).click();
  await hp.getByRole("button", { name: "Non, garder mon compte" }).waitFor();
  await expectNamedControls(hp, "supprimer le compte, étape 2");
  await hp.getByRole("button", { name: "Non, garder mon compte" }).click();
  await hp.goto(`${server.url}/#/groupes/nouveau`);
  await checkBoth(hp, "créer un groupe", () => heading(hp, "Créer un groupe de parole"));

  const visitor = await personFor(t, browser, PHONE);
  const vp = visitor.page;
  await vp.goto(`${server.url}/#/join`);
  await checkBoth(vp, "utiliser mon compte sur cet appareil", () => vp.locator("main h1").first().waitFor());
  await vp.goto(`${server.url}/c/ce-lien-n-existe-pas`);
  await checkBoth(vp, "lien cassé", () => vp.locator("main h1").first().waitFor());
  await vp.goto(address.trim());
  await checkBoth(vp, "page du lien", () => heading(vp, "Écrire à pair.aidant"));
  await vp.getByRole("button", { name: "Besoin d'aide maintenant ?" }).click();
  await vp.getByRole("dialog", { name: "Besoin d'aide maintenant ?" }).waitFor();
  await expectNamedControls(vp, "carte d'aide");
  await vp.keyboard.press("Escape");
  await vp.getByLabel("Choisissez un pseudonyme").fill("camille");
  await vp.getByRole("button", { name: "Commencer" }).click();
  await heading(vp, "Conversation avec pair.aidant");
  await vp.getByLabel("Votre message").fill("Bonjour.");
  await vp.getByRole("button", { name: "Envoyer" }).click();
  await vp.locator("ol.messages li.msg").first().waitFor();
  await checkBoth(vp, "conversation du visiteur", () => openAll(vp));

  await hp.goto(`${server.url}/#/`);
  await hp.getByRole("link", { name: /^camille/ }).click();
  await heading(hp, "Conversation avec camille");
  await hp.locator("ol.messages li.msg").first().waitFor();
  await openAll(hp);
  await checkBoth(hp, "conversation de l'aidant", () => openAll(hp));
  // The page may still be drawing itself again in French (its disclosures closed): open them until
  // the link shows.
  const verify = hp.getByRole("link", { name: "Vérifier camille", exact: true });
  await eventually("the verify link shown", async () => (await openAll(hp), verify.isVisible()));
  await verify.click();
  await checkBoth(hp, "vérifier", () => heading(hp, "Vérifier camille"));
});

test("a group: the facilitator's screens and a member's page name every control; a message reads who, role, time, text", async (t) => {
  const server = await serverFor(t, { registration: "open" });
  const camille = await personFor(t, browser, PHONE);
  const sam = await personFor(t, browser, PHONE);
  await registerInPage(camille.page, server.url, "camille");
  await registerInPage(sam.page, server.url, "sam");
  const pro = await personFor(t, browser, PHONE);
  await registerInPage(pro.page, server.url, "dr.web");
  server.admin("account", "set-type", "dr.web", "professional");
  await pro.page.reload();
  await pro.page.locator(".conn-text", { hasText: "Connecté." }).waitFor();
  const page = camille.page;
  await page.getByRole("link", { name: "Créer un groupe" }).click();
  await page.getByLabel("Nom du groupe").fill("Les Lucioles");
  await page.getByLabel("Pseudonymes des personnes à ajouter (si vous voulez)").fill("sam");
  await page.getByRole("button", { name: "Créer le groupe" }).click();
  await heading(page, "Gérer le groupe Les Lucioles");
  assert.match(new URL(page.url()).hash, /^#\/ga\/[0-9a-f]+$/);
  await checkBoth(page, "gérer le groupe", () => heading(page, "Gérer le groupe Les Lucioles"));
  await page.getByLabel("Pseudonyme", { exact: true }).nth(1).fill("dr.web");
  await page.getByLabel("C'est une personne professionnelle (soin, travail social…)").check();
  await page.getByRole("button", { name: "Inviter", exact: true }).click();
  await page.locator(".group-admin p.notice[role=status]").getByText("L'invitation est envoyée à dr.web.").waitFor();
  await pro.page.getByRole("link", { name: "Invitations (1)" }).click();
  await checkBoth(pro.page, "invitations", () => pro.page.getByRole("button", { name: "J'accepte la charte du groupe de camille" }).waitFor());
  await pro.page.getByRole("button", { name: "J'accepte la charte du groupe de camille" }).click();
  await page.getByRole("link", { name: "Retour aux messages du groupe" }).click();
  await heading(page, "Les Lucioles");
  await page.getByLabel("Votre message").fill("Bienvenue dans le groupe.");
  await page.getByRole("button", { name: "Envoyer" }).click();
  await page.locator("ol.messages li.msg").first().waitFor();
  await checkBoth(page, "le groupe (animatrice)", () => openAll(page));

  const sp = sam.page;
  await sp.getByRole("link", { name: "Conversations", exact: true }).click();
  await sp.getByRole("link", { name: /Les Lucioles/ }).first().click();
  await heading(sp, "Les Lucioles");
  const message = "ol.messages li.msg.theirs";
  await sp.locator(message, { hasText: "Bienvenue dans le groupe." }).waitFor({ timeout: 30_000 });
  await checkBoth(sp, "le groupe (membre)", () => openAll(sp));
  await expectReadInOneGo(sp, message, ["camille", "animateur ou animatrice", "Bienvenue dans le groupe."]);
  await sp.getByRole("button", { name: "Signaler le message de camille" }).click();
  await sp.locator("dialog.report[open]").waitFor();
  await expectNamedControls(sp, "signaler un message");
  await sp.keyboard.press("Escape");

  // The professional, once added by the facilitator's page, writes: marked in words, read in one go.
  await pro.page.getByRole("link", { name: "Conversations", exact: true }).click();
  await pro.page.getByRole("link", { name: /Les Lucioles/ }).first().click({ timeout: 30_000 });
  await pro.page.getByLabel("Votre message").fill("Je suis là pour écouter.");
  await pro.page.getByRole("button", { name: "Envoyer" }).click();
  const proMessage = "ol.messages li.msg.theirs:last-child";
  await sp.locator(proMessage, { hasText: "Je suis là pour écouter." }).waitFor({ timeout: 30_000 });
  await expectReadInOneGo(sp, proMessage, ["dr.web", "personne professionnelle", "Je suis là pour écouter."]);
  await switchTo(sp, "en");
  await expectReadInOneGo(sp, message, ["camille", "facilitator", "Bienvenue dans le groupe."]);
  await expectReadInOneGo(sp, proMessage, ["dr.web", "professional", "Je suis là pour écouter."]);
});

/** The message's node: a list item whose text reads the sender, the role, the time and the text, in that order. */
async function expectReadInOneGo(page, selector, [who, role, text]) {
  // After a language switch the page draws the messages again: read the time and the spoken text
  // of one drawing (the same time before and after the accessibility tree was read).
  const timeNow = () => page.locator(`${selector} time`).first().textContent();
  const { time, spoken } = await eventually("the message drawn once in the page's language", async () => {
    const before = await timeNow();
    const read = await spokenText(page, selector);
    return before === (await timeNow()) && read.text.includes(role) ? { time: before, spoken: read } : null;
  });
  assert.equal(spoken.role, "listitem");
  const at = [who, role, time, text].map((part) => spoken.text.indexOf(part));
  assert.ok(at.every((i) => i >= 0), `"${spoken.text}" holds ${JSON.stringify([who, role, time, text])}`);
  assert.deepEqual([...at].sort((a, b) => a - b), at, `"${spoken.text}" says who, role, time, text in that order`);
  const esc = (x) => x.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const phrase = new RegExp(`^${esc(who)}\\s*,\\s*${esc(role)}\\s*,\\s*${esc(time)}[^:]*:\\s*${esc(text)}`);
  assert.match(spoken.text, phrase, "read as one phrase with its commas and colon");
}
