// Séances in Chromium at 360 px, French, real relay, each person in their own browser context: the
// facilitator creates a group that meets in séances (one person at a time, messages only during a
// séance); a member's box says the séance is not open; at the opening each member reads the charter
// and confirms it before writing; sam raises a hand and is given the floor, alex's box says the floor
// is sam's while sam writes; the séance closes and the boxes say so again; the opening is said to sam
// in a polite region, and not to alex, who is in a safety-kit pause; axe on the séance bar.
// CERCLE_SCREENSHOTS=<dir> keeps screenshots of the séance bar (docs/animer-un-groupe.md uses them).
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { eventually, expectAccessible, launchBrowser, personFor, PHONE, registerInPage, serverFor } from "./support.mjs";

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

async function person(t, server, handle, code) {
  const p = await personFor(t, browser, PHONE);
  await registerInPage(p.page, server.url, handle, code);
  return p;
}

async function openGroup(page, name) {
  await page.getByRole("link", { name: "Conversations", exact: true }).click();
  await page.getByRole("link", { name }).first().click();
  await page.getByRole("heading", { level: 1, name }).waitFor();
}

const SHOTS = process.env.CERCLE_SCREENSHOTS;

async function shot(page, name) {
  if (SHOTS) await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

const closedBox = (page) => page.locator("p.warning-inline.closed");
const bar = (page) => page.locator("section.seance-bar");
const polite = (page) => page.locator("section.seance-bar [aria-live=polite]");
const button = (page, name) => bar(page).getByRole("button", { name, exact: true });

test("a séance: opened, the charter confirmed before writing, a hand, the floor, closed", async (t) => {
  const server = await serverFor(t, { registration: "invite-code", codes: 3 });
  const camille = await person(t, server, "camille", server.codes[0]);
  const sam = await person(t, server, "sam", server.codes[1]);
  const alex = await person(t, server, "alex", server.codes[2]);
  const page = camille.page;

  await page.getByRole("link", { name: "Créer un groupe" }).click();
  await page.getByLabel("Nom du groupe").fill("Les Lucioles");
  await page.getByLabel("Pseudonymes des personnes à ajouter (si vous voulez)").fill("sam, alex");
  await page.getByLabel("Le groupe se réunit en séances", { exact: false }).check();
  await page.getByLabel("On écrit seulement pendant une séance").check();
  await page.getByLabel("Une personne à la fois", { exact: false }).check();
  await page.getByRole("button", { name: "Créer le groupe" }).click();
  await page.getByRole("heading", { level: 1, name: "Gérer le groupe Les Lucioles" }).waitFor({ timeout: 30_000 });
  await openGroup(page, "Les Lucioles");

  for (const p of [sam.page, alex.page]) {
    await eventually("the group reaches the member", async () => (await p.getByRole("link", { name: /Les Lucioles/ }).count()) > 0 || (await p.reload(), false), 30_000);
    await openGroup(p, "Les Lucioles");
    await closedBox(p).getByText("La séance n'est pas ouverte. Vous pourrez écrire quand elle commence.").waitFor();
    assert.equal(await p.getByRole("textbox", { name: /Votre message/ }).count(), 0);
  }

  // Alex takes a pause (the safety kit): nothing of the séance is announced to alex.
  await alex.page.getByRole("link", { name: "Sécurité" }).click();
  await alex.page.getByLabel("1 jour").check();
  await alex.page.getByRole("button", { name: "Commencer la pause" }).click();
  await alex.page.locator("header .pause-banner").getByText(/^Pause en cours/).waitFor();
  await openGroup(alex.page, "Les Lucioles");
  await closedBox(alex.page).getByText("La séance n'est pas ouverte. Vous pourrez écrire quand elle commence.").waitFor();

  await button(page, "Ouvrir la séance").click();
  await bar(page).getByText(/^Séance ouverte depuis \d{1,2} h \d\d\./).waitFor();
  await polite(sam.page).filter({ hasText: "La séance commence." }).waitFor({ state: "attached" });
  await bar(alex.page).getByText(/^Séance ouverte depuis/).waitFor();
  // Each member reads the charter and confirms it before writing.
  await bar(sam.page).getByRole("heading", { name: "La charte du groupe" }).waitFor();
  await closedBox(sam.page).getByText("Confirmez la charte ci-dessus pour écrire.").waitFor();
  await expectAccessible(sam.page, "la barre de séance (charte)");
  await shot(sam.page, "seance-charte");
  await button(sam.page, "J'ai lu la charte, je la respecte").click();
  await closedBox(sam.page).waitFor({ state: "hidden" });
  await button(alex.page, "J'ai lu la charte, je la respecte").click();
  await closedBox(alex.page).waitFor({ state: "hidden" });
  // A round trip after the opening (alex's confirmation), and still nothing was said to alex.
  assert.equal(await polite(alex.page).textContent(), "", "nothing said during a pause");

  await button(sam.page, "Lever la main").click();
  await bar(page).getByText("Mains levées : sam.").waitFor();
  await button(page, "Donner la parole à sam").click();
  await bar(sam.page).locator("p.seance-state", { hasText: "La parole est à vous." }).waitFor();
  await sam.page.locator("section.seance-bar [role=alert]", { hasText: "La parole est à vous." }).waitFor({ state: "attached" });
  await closedBox(alex.page).getByText("La parole est à sam. Levez la main pour parler.").waitFor();
  await bar(alex.page).locator("p.seance-state", { hasText: "La parole est à sam." }).waitFor();
  await expectAccessible(alex.page, "la barre de séance (la parole à sam)");
  await expectAccessible(page, "la barre de séance, vue par l'animatrice");
  await shot(page, "seance-animation");

  await sam.page.locator("form.composer textarea").fill("Je prends la parole.");
  await sam.page.locator("form.composer").getByRole("button", { name: "Envoyer" }).click();
  await alex.page.locator("ol.messages p.text", { hasText: "Je prends la parole." }).waitFor({ timeout: 20_000 });

  await button(page, "Fermer la séance").click();
  await bar(sam.page).getByText("Pas de séance en ce moment.").waitFor();
  await closedBox(sam.page).getByText("La séance n'est pas ouverte. Vous pourrez écrire quand elle commence.").waitFor();
  await closedBox(alex.page).getByText("La séance n'est pas ouverte. Vous pourrez écrire quand elle commence.").waitFor();
  await bar(page).getByRole("button", { name: "Ouvrir la séance" }).waitFor();
});
