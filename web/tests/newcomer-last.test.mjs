// The last leftovers of issue 14 in Debian's Chromium at 360 px against the real relay: the rarer
// texts ("cannot start", "already open", the safety screen) without the unexplained word
// "navigateur"; a muted member reads the reason once, in place of the message box, in a status
// region; a helper who opens their own contact link is told it is theirs to share, with a way back
// to their conversations (nothing opened); the only facilitator of a group who asks to leave is told
// why they cannot yet, and nothing is sent. axe-core on each new state, French and English; the
// new controls with the keyboard.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { facilitator as f, MemoryStore, Messenger } from "../build-node/core.mjs";
import { eventually, exactly, expectAccessible, focused, launchBrowser, personFor, PHONE, registerInPage, serverFor, toEnglish, toFrench } from "./support.mjs";

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

const mainText = (page) => page.locator("main").innerText();

/** A node client (the same core as the page), signed in, stopped when the test ends. */
async function core(t, server, handle) {
  const m = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "cercle-test-newcomer-last", keyPackageStock: 3 });
  t.after(() => m.stop());
  await m.register(handle);
  assert.ok(await m.waitOnline(10_000));
  return m;
}

/** sam in the page at 360 px, in camille's group with alex; returns the group's id. */
async function samInGroup(t) {
  const server = await serverFor(t, { registration: "open" });
  const person = await personFor(t, browser, PHONE);
  await registerInPage(person.page, server.url, "sam");
  const camille = await core(t, server, "camille");
  await core(t, server, "alex");
  const id = await eventually("group created", () => f.createGroup(camille, { charter: "Ce qui se dit ici reste ici." }, ["sam", "alex"]).catch(() => null), 30_000);
  await person.page.getByRole("link", { name: /Groupe de parole avec camille, alex/ }).click();
  await person.page.locator("ol.messages li.msg.event .text", { hasText: "Vous avez rejoint le groupe." }).waitFor();
  return { server, person, page: person.page, camille, id };
}

test("the rarer texts (cannot start, already open, safety screen) say what to do without the word 'navigateur' (9)", async (t) => {
  const server = await serverFor(t, { registration: "open" });
  // Storage refused (as some private windows do): Cercle cannot start.
  const blocked = await personFor(t, browser, PHONE);
  await blocked.context.addInitScript(() => {
    IDBFactory.prototype.open = () => {
      throw new DOMException("refused", "SecurityError");
    };
  });
  await blocked.page.goto(`${server.url}/`);
  await blocked.page.getByRole("heading", { level: 1, name: "Cercle ne peut pas démarrer" }).waitFor();
  await blocked.page.getByText(exactly("Cercle ne peut pas garder vos messages ici. C'est peut-être une fenêtre privée. Ouvrez cette page dans une fenêtre normale. Ou ouvrez-la avec une autre application pour aller sur internet, par exemple Chrome, Firefox ou Safari.")).waitFor();
  assert.doesNotMatch(await mainText(blocked.page), /navigateur/i);
  await expectAccessible(blocked.page, "ne peut pas démarrer");
  await blocked.page.evaluate(() => localStorage.setItem("cercle.lang", "en"));
  await blocked.page.reload();
  await blocked.page.getByText(exactly("Cercle cannot keep your messages here. Maybe this is a private window. Open this page in a normal window. Or open it with another app for the internet, for example Chrome, Firefox or Safari.")).waitFor();
  await expectAccessible(blocked.page, "cannot start (English)");

  // A second page of the same browser.
  const { page, context } = await personFor(t, browser, PHONE);
  await registerInPage(page, server.url, "aidante");
  const second = await context.newPage();
  await second.goto(`${server.url}/`);
  await second.getByRole("heading", { level: 1, name: "Cercle est déjà ouvert" }).waitFor();
  await second.getByText(exactly("Cercle est déjà ouvert sur une autre page de cet appareil. Allez sur cette autre page. Ou fermez-la. Puis rechargez cette page.")).waitFor();
  assert.doesNotMatch(await mainText(second), /navigateur|onglet/i);
  await expectAccessible(second, "déjà ouvert");
  await second.evaluate(() => localStorage.setItem("cercle.lang", "en"));
  await second.reload();
  await second.getByText(exactly("Cercle is already open on another page of this device. Go to that other page. Or close it. Then reload this page.")).waitFor();
  await expectAccessible(second, "already open (English)");
  await second.close();
  await page.evaluate(() => localStorage.removeItem("cercle.lang"));

  // The safety screen, reached with the keyboard.
  const safety = page.getByRole("link", { name: "Sécurité" });
  await safety.focus();
  await safety.press("Enter");
  await page.getByRole("heading", { level: 1, name: "Sécurité" }).waitFor();
  await page.getByText(exactly("Attention : l'application qui ouvre les pages internet garde la liste des pages visitées. Par exemple Chrome, Firefox ou Safari. Cercle est dans cette liste. Pour effacer la liste, allez dans les réglages de cette application.")).waitFor();
  assert.doesNotMatch(await mainText(page), /navigateur/i);
  await expectAccessible(page, "écran sécurité");
  await toEnglish(page);
  await page.getByText(exactly("Careful: the app that opens internet pages keeps a list of the pages you visited. For example Chrome, Firefox or Safari. Cercle is in this list. To erase the list, go to the settings of this app.")).waitFor();
  await expectAccessible(page, "safety screen (English)");
});

test("a muted member reads the reason once, in place of the message box, in a status region (6)", async (t) => {
  const { page, camille, id } = await samInGroup(t);
  await f.setRules(camille, id, (p) => p.muted.push("sam"));
  const reason = "Vous ne pouvez pas écrire dans ce groupe pour l'instant. L'animation a suspendu vos messages. Vous pouvez lire les messages.";
  await page.getByRole("status").filter({ hasText: exactly(reason) }).waitFor();
  assert.ok(await page.getByLabel("Votre message").isHidden(), "no box to type in");
  const said = (await mainText(page)).match(/suspendu vos messages/g) ?? [];
  assert.equal(said.length, 1, "the reason once");
  await expectAccessible(page, "membre suspendu, raison une fois");
  await toEnglish(page);
  await page.getByRole("status").filter({ hasText: exactly("You cannot write in this group for now. The facilitators paused your messages. You can read the messages.") }).waitFor();
  assert.equal(((await mainText(page)).match(/paused your messages/g) ?? []).length, 1, "the reason once (English)");
  await expectAccessible(page, "muted member, reason once (English)");
  await toFrench(page);
  await f.setRules(camille, id, (p) => (p.muted = []));
  await page.getByLabel("Votre message").waitFor();
  assert.doesNotMatch(await mainText(page), /suspendu/);
});

/** The helper's contact link, made on the links page; returns its address. */
async function createLink(page) {
  await page.getByRole("link", { name: "Liens de contact" }).click();
  await page.getByRole("heading", { level: 1, name: "Liens de contact" }).waitFor();
  await page.getByLabel("Nom du lien").fill("site");
  await page.getByLabel("Durée du lien").selectOption("168");
  await page.getByRole("button", { name: "Créer le lien" }).click();
  const address = page.getByLabel("Adresse du lien « site »");
  await address.waitFor();
  return address.inputValue();
}

test("a helper who opens their own contact link is told it is theirs to share, with a way back; nothing is opened (7)", async (t) => {
  const server = await serverFor(t, { registration: "open" });
  const { page } = await personFor(t, browser, PHONE);
  await registerInPage(page, server.url, "aidante");
  const address = await createLink(page);
  await page.goto(address);
  const title = page.getByRole("heading", { level: 1, name: "C'est votre lien de contact" });
  await title.waitFor();
  assert.ok(await focused(title));
  await page.getByText(exactly("Ce lien mène à vous. Vous ne pouvez pas vous écrire à vous-même.")).waitFor();
  await page.getByText(exactly("Donnez ce lien aux personnes qui veulent vous écrire.")).waitFor();
  assert.equal(await page.getByRole("button", { name: /écrire à/ }).count(), 0, "no 'write to yourself'");
  await expectAccessible(page, "mon propre lien");
  await toEnglish(page);
  await page.getByRole("heading", { level: 1, name: "This is your contact link" }).waitFor();
  await page.getByText(exactly("This link leads to you. You cannot write to yourself.")).waitFor();
  await expectAccessible(page, "own link (English)");
  await toFrench(page);
  const back = page.getByRole("link", { name: "Retour à mes conversations" });
  await back.focus();
  await back.press("Enter");
  await page.getByRole("heading", { level: 1, name: "Conversations" }).waitFor();
  await page.getByText("Pas encore de conversation.").waitFor();
  assert.equal(new URL(page.url()).pathname, "/");
});

/** The member list says whether `handle` leads (read from the DOM: the list may be folded). */
const leads = (page, handle) =>
  page.locator("li.member", { has: page.locator(".who", { hasText: exactly(handle) }) }).locator(".role", { hasText: "animateur ou animatrice" });

test("the only facilitator who asks to leave is told a group needs one and whom to ask; nothing is sent (12)", async (t) => {
  const { page, camille, id } = await samInGroup(t);
  // Two facilitators: sam may leave (the question as usual).
  await f.setRules(camille, id, (p) => p.roles.push({ ...p.roles.find((r) => r.handle === "camille"), handle: "sam" }));
  await leads(page, "sam").waitFor({ state: "attached" });
  const leave = page.getByRole("button", { name: "Quitter ce groupe" });
  await leave.focus();
  await leave.press("Enter");
  await page.getByRole("button", { name: "Non, rester dans le groupe" }).press("Enter");
  // camille gives the role up: sam is the only one left leading.
  await f.setRules(camille, id, (p) => (p.roles = p.roles.filter((r) => r.handle !== "camille")));
  await leads(page, "camille").waitFor({ state: "detached" });
  await leave.press("Enter");
  const question = page.locator(".confirm");
  await question.getByText(exactly("Vous êtes la seule personne qui anime ce groupe. Un groupe a toujours besoin d'une personne qui l'anime.")).waitFor();
  await question.getByText(exactly("Avant de partir, donnez le rôle d'animation à une autre personne du groupe. Cette page ne permet pas de donner ce rôle. Demandez de l'aide à l'association.")).waitFor();
  assert.ok(await focused(question), "the reason is read first");
  assert.equal(await page.getByRole("button", { name: "Oui, quitter ce groupe" }).count(), 0, "nothing to confirm");
  await expectAccessible(page, "seule personne qui anime");
  await page.getByRole("button", { name: "J'ai compris" }).press("Enter");
  assert.ok(await focused(leave), "back on the button");
  await toEnglish(page);
  const leaveEn = page.getByRole("button", { name: "Leave this group" });
  await leaveEn.focus();
  await leaveEn.press("Enter");
  await page.getByText(exactly("You are the only facilitator of this group. A group always needs a facilitator.")).waitFor();
  await page.getByText(exactly("Before you leave, give the facilitator role to another person in the group. This page cannot give this role. Ask the association for help.")).waitFor();
  await expectAccessible(page, "only facilitator (English)");
  await page.getByRole("button", { name: "I understand" }).press("Enter");
  await toFrench(page);
  // Nothing was sent: a message after it reaches camille, and she holds no request to leave.
  await page.getByLabel("Votre message").fill("Je reste.");
  await page.getByRole("button", { name: "Envoyer" }).press("Enter");
  await eventually("camille reads it", async () => (await f.groupMessages(camille, id)).some((m) => m.text === "Je reste."));
  assert.deepEqual(await f.leaving(camille, id), []);
  assert.doesNotMatch(await page.locator(".group-info").innerText(), /demandé à quitter/);
});
