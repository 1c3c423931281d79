// A facilitator runs a groupe de parole from the browser (issue 13, item 1), in Debian's Chromium at
// 360 px, in French, each person in their own browser context against the real relay: the
// facilitator creates a named group adding a peer, adds a second peer on the admin screen, invites a
// professional (accompanying a peer) who accepts the charter and is added by the facilitator's page,
// stops a peer from writing (the peer's page says so in place of the box), deletes a message for
// everyone, bans a peer. The members see the group's name as its title and its description. axe-core
// (light and dark, reflow at 360 px, every control named) on each new screen; create and add with
// the keyboard only. CERCLE_SCREENSHOTS=<dir> keeps screenshots of the new screens.
import assert from "node:assert/strict";
import { test } from "node:test";
import { adminStatus, bubble, chromiumForFile, confirm, eventually, expectAccessible, openGroup, serverFor, shot, signedUpFor, toEnglish, toFrench } from "./support.mjs";

const browser = chromiumForFile();
const person = (t, server, handle, code) => signedUpFor(t, browser(), server, handle, code);

test("a facilitator creates a named group, adds, invites a professional, mutes, deletes and bans from the browser", async (t) => {
  const server = await serverFor(t, { registration: "invite-code", codes: 4 });
  const camille = await person(t, server, "camille", server.codes[0]);
  const sam = await person(t, server, "sam", server.codes[1]);
  const alex = await person(t, server, "alex", server.codes[2]);
  const pro = await person(t, server, "dr.web", server.codes[3]);
  server.admin("account", "set-type", "dr.web", "professional");
  await pro.page.reload();
  await pro.page.locator(".conn-text", { hasText: "Connecté." }).waitFor();
  const page = camille.page;

  await page.getByRole("link", { name: "Créer un groupe" }).click();
  await page.getByRole("heading", { level: 1, name: "Créer un groupe de parole" }).waitFor();
  await expectAccessible(page, "créer un groupe", { names: true });
  await shot(page, "facilitator-create");
  await page.getByLabel("Nom du groupe").fill("Les Lucioles");
  await page.getByLabel("Description (si vous voulez)").fill("Un groupe pour parler du sommeil.");
  await page.getByLabel("Pseudonymes des personnes à ajouter (si vous voulez)").fill("sam");
  await page.getByRole("button", { name: "Créer le groupe" }).click();
  await page.getByRole("heading", { level: 1, name: "Gérer le groupe Les Lucioles" }).waitFor({ timeout: 30_000 });

  await page.getByRole("textbox", { name: "Pseudonyme" }).first().fill("alex");
  await page.getByRole("button", { name: "Ajouter", exact: true }).click();
  await adminStatus(page).getByText("alex est dans le groupe.").waitFor({ timeout: 30_000 });
  await expectAccessible(page, "gérer le groupe", { names: true });
  await shot(page, "facilitator-admin");

  // The members read the name as the group's title, and its description.
  for (const member of [sam, alex]) {
    await openGroup(member.page, "Les Lucioles");
    await member.page.getByText("Un groupe pour parler du sommeil.").waitFor();
  }

  // A professional invited to accompany sam accepts the charter; the facilitator's page adds them.
  await page.getByLabel("Pseudonyme", { exact: true }).nth(1).fill("dr.web");
  await page.getByLabel("C'est une personne professionnelle (soin, travail social…)").check();
  await page.getByLabel("Il accompagne (si vous voulez)").selectOption("sam");
  await page.getByRole("button", { name: "Inviter", exact: true }).click();
  await adminStatus(page).getByText("L'invitation est envoyée à dr.web.").waitFor();
  await pro.page.getByRole("link", { name: "Invitations (1)" }).click();
  await pro.page.getByText("Ce qui se dit ici reste ici. On écoute sans juger. Chacun parle de soi.").waitFor();
  await pro.page.getByRole("button", { name: "J'accepte la charte du groupe de camille" }).click();
  await openGroup(pro.page, "Les Lucioles");
  await sam.page.locator("ul.members > li > .person", { hasText: "dr.web" }).waitFor({ state: "attached", timeout: 30_000 });
  await page.locator(".admin-lists li.member.pro", { hasText: "dr.web" }).getByText("personne professionnelle", { exact: false }).waitFor();

  // Sam is stopped from writing: sam's page says so in place of the box.
  await confirm(page, "Empêcher sam d'écrire");
  await adminStatus(page).getByText("sam ne peut plus écrire.").waitFor();
  await sam.page.getByText("Vous ne pouvez pas écrire dans ce groupe pour l'instant.", { exact: false }).waitFor();
  assert.equal(await sam.page.getByLabel("Votre message").isVisible(), false);

  // A message deleted for everyone.
  await alex.page.getByLabel("Votre message").fill("Un message à supprimer.");
  await alex.page.getByRole("button", { name: "Envoyer" }).click();
  await bubble(sam.page, "Un message à supprimer.").waitFor();
  await page.getByRole("link", { name: "Retour aux messages du groupe" }).click();
  await page.getByRole("heading", { level: 1, name: "Les Lucioles" }).waitFor();
  await bubble(page, "Un message à supprimer.").waitFor();
  await confirm(page, "Supprimer pour tout le monde le message de alex");
  await page.getByText("Le message est supprimé pour tout le monde.").waitFor();
  await bubble(sam.page, "Un message à supprimer.").waitFor({ state: "detached" });
  await expectAccessible(page, "le groupe, vu par l'animatrice", { names: true });
  await shot(page, "facilitator-group");

  // Alex is banned: alex's page says alex is no longer in the group.
  await page.getByRole("link", { name: "Gérer le groupe" }).click();
  await page.getByRole("heading", { level: 1, name: "Gérer le groupe Les Lucioles" }).waitFor();
  await confirm(page, "Exclure alex");
  await adminStatus(page).getByText("alex est exclu du groupe.").waitFor({ timeout: 30_000 });
  await page.locator(".admin-lists").getByRole("button", { name: "Annuler l'exclusion de alex" }).waitFor();
  await alex.page.locator(".warning-inline").first().waitFor();
  await eventually("sam no longer lists alex", async () => (await sam.page.locator("ul.members > li > .person", { hasText: "alex" }).count()) === 0);
  await expectAccessible(page, "gérer le groupe, après", { names: true });
  // The rules changed on the admin screen: a member reads them in the group's rules.
  await page.getByLabel("Garder les messages").selectOption("7");
  await page.getByLabel("Les pairs peuvent aussi demander à entrer").check();
  await page.getByRole("button", { name: "Enregistrer les règles" }).click();
  await adminStatus(page).getByText("Les règles sont enregistrées. Les membres les voient.").waitFor({ timeout: 30_000 });
  await sam.page.getByText("Les messages sont effacés après 7 jours, aussi sur cet appareil.").waitFor({ state: "attached" });
  await sam.page.getByText("Les pairs de l'association peuvent demander à rejoindre ce groupe.", { exact: false }).waitFor({ state: "attached" });
  // The same screen in English.
  await toEnglish(page);
  await page.getByRole("heading", { level: 1, name: "Manage the group Les Lucioles" }).waitFor();
  await page.getByRole("button", { name: "Cancel alex's ban" }).waitFor();
  await expectAccessible(page, "manage the group (English)", { names: true });
  await toFrench(page);
  await page.getByRole("heading", { level: 1, name: "Gérer le groupe Les Lucioles" }).waitFor();
  for (const p of [camille, sam, alex, pro]) assert.deepEqual(p.problems.filter((x) => !/WebSocket|net::ERR/.test(x)), []);
});

/** The focused element: tag and label. */
const focusedOn = (page) =>
  page.evaluate(() => {
    const el = document.activeElement;
    return { tag: el?.tagName.toLowerCase(), label: (el?.labels?.[0]?.textContent ?? el?.getAttribute("aria-label") ?? el?.textContent ?? "").trim() };
  });

async function tabTo(page, tag, label) {
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press("Tab");
    const f = await focusedOn(page);
    if (f.tag === tag && f.label.includes(label)) return;
  }
  assert.fail(`could not reach <${tag}> "${label}" with Tab`);
}

test("creating a group and adding a peer with the keyboard only", async (t) => {
  const server = await serverFor(t, { registration: "invite-code", codes: 3 });
  const camille = await person(t, server, "camille", server.codes[0]);
  await person(t, server, "sam", server.codes[1]);
  await person(t, server, "alex", server.codes[2]);
  const { page } = camille;
  await page.addInitScript(() => {
    for (const type of ["mousedown", "pointerdown", "click"]) {
      window.addEventListener(type, (e) => {
        if (e.isTrusted && e.detail > 0) document.documentElement.dataset.pointer = "used";
      }, true);
    }
  });
  await page.reload();
  await page.locator(".conn-text", { hasText: "Connecté." }).waitFor();
  await tabTo(page, "a", "Créer un groupe");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "Créer un groupe de parole" }).waitFor();
  await tabTo(page, "input", "Nom du groupe");
  await page.keyboard.type("Le Phare");
  await tabTo(page, "input", "Pseudonymes des personnes à ajouter");
  await page.keyboard.type("sam");
  await tabTo(page, "button", "Créer le groupe");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "Gérer le groupe Le Phare" }).waitFor({ timeout: 30_000 });
  await tabTo(page, "input", "Pseudonyme");
  await page.keyboard.type("alex");
  await page.keyboard.press("Enter");
  await adminStatus(page).getByText("alex est dans le groupe.").waitFor({ timeout: 30_000 });
  await page.locator(".admin-lists li.member", { hasText: "alex" }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.pointer ?? "none"), "none", "no pointer event happened");
});
