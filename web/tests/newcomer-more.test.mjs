// What a newcomer meets in the web client, issue 14 points 2, 7, 11 and 12, as far as the relay
// supports them today, in Debian's Chromium at 360 px against the real relay: a broken contact link
// says what to do instead (a new link, the page it was found on, the association's page when the
// instance names it, the help numbers) and never sends to account creation; a visitor reopening a
// saved link that was stopped reaches the conversation (2); a conversation erased from this device
// only, after a question saying what is erased and that the other person keeps their copy; a
// contact link opened in a browser where another account lives asks whose account it is (7); a
// professional's menu without contact links, their account page saying they are registered as a
// professional, an invitation declined (the group is told: newcomer-relay.test.mjs), a line while
// they wait to be added (11); a member leaves a group (a Remove proposal that the C++ facilitator's client
// commits) and reports a message, sealed to the C++ facilitator, which opens it; a message the
// relay refuses because the member was muted meanwhile says so, with no retry (12). axe-core on
// each new state, light and dark, French and English; the new controls with the keyboard only.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { facilitator as f, MemoryStore, Messenger } from "../build-node/core.mjs";
import { eventually, exactly, expectAccessible, focused, launchBrowser, personFor, PHONE, registerInPage, serverFor, toEnglish, toFrench, WEB } from "./support.mjs";

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

const connText = (page) => page.locator(".conn-text");
const bubble = (page, text) => page.locator("ol.messages li.msg", { has: page.locator(".text", { hasText: exactly(text) }) });

/** A node client (the same core as the page), signed in, stopped when the test ends. */
async function core(t, server, handle) {
  const m = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "cercle-test-newcomer-more", keyPackageStock: 3 });
  t.after(() => m.stop());
  await m.register(handle);
  assert.ok(await m.waitOnline(10_000));
  return m;
}

/** What the page keeps in IndexedDB for a thread. */
function storedTexts(page, peer) {
  return page.evaluate(
    (peer) =>
      new Promise((resolve) => {
        const open = indexedDB.open("cercle", 1);
        open.onsuccess = () => {
          const all = open.result.transaction("messages").objectStore("messages").getAll();
          all.onsuccess = () => resolve(all.result.filter((m) => m.peer === peer).map((m) => m.text));
        };
      }),
    peer,
  );
}

/** camille, a visitor at 360 px, came through aidante's contact link and wrote once. */
async function visitorWithHelper(t) {
  const server = await serverFor(t, { registration: "open" });
  const aidante = await core(t, server, "aidante");
  const link = await aidante.createContactLink("site", 0);
  const visitor = await personFor(t, browser, PHONE);
  const { page } = visitor;
  const linkUrl = `${server.url}/c/${encodeURIComponent(link.token)}`;
  await page.goto(linkUrl);
  await page.getByLabel("Choisissez un pseudonyme").fill("camille");
  await page.getByRole("button", { name: "Commencer" }).click();
  await page.getByRole("heading", { level: 1, name: "Conversation avec aidante" }).waitFor();
  await connText(page).filter({ hasText: "Connecté." }).waitFor();
  await page.getByLabel("Votre message").fill("Bonjour, je suis camille.");
  await page.getByRole("button", { name: "Envoyer" }).click();
  await eventually("aidante reads camille", async () => (await aidante.messages("camille")).some((m) => m.text === "Bonjour, je suis camille."));
  return { server, aidante, link, linkUrl, visitor, page };
}

test("a broken link says what to do instead, never account creation; a saved link that was stopped reopens the conversation (2)", async (t) => {
  const server = await serverFor(t, { registration: "invite-code" });
  const { page } = await personFor(t, browser, PHONE);
  // The instance names its association's page (a meta in index.html; the relay does not send one
  // yet). Added before the page's script reads it, as if index.html had it.
  await page.addInitScript(() =>
    document.addEventListener("DOMContentLoaded", () => {
      const meta = document.createElement("meta");
      meta.name = "cercle-association-page";
      meta.content = "https://association.example/contact";
      document.head.append(meta);
    }),
  );
  await page.goto(`${server.url}/c/ce-lien-n-existe-pas`);
  await page.getByRole("heading", { level: 1, name: "Ce lien ne marche pas" }).waitFor();
  const main = page.locator("main");
  assert.deepEqual(await main.locator("section > p").allTextContents(), [
    "Le lien est peut-être trop ancien, ou il a été arrêté. Ce n'est pas de votre faute.",
    "Demandez un nouveau lien à la personne qui vous l'a donné.",
    "Ou retournez sur la page où vous avez trouvé ce lien. Elle donne peut-être un autre moyen de joindre l'association.",
    "Aller sur la page de l'association",
    "Besoin d'aide maintenant ? Des numéros d'aide répondent à toute heure. Ils sont gratuits.",
    "Voir les numéros d'aide",
  ]);
  assert.equal(await main.getByRole("link", { name: "Aller sur la page de l'association" }).getAttribute("href"), "https://association.example/contact");
  assert.equal(await main.locator('a[href="/"]').count(), 0, "no way to account creation, which needs a code");
  assert.equal(await main.getByRole("button", { name: /Créer|Commencer/ }).count(), 0);
  await expectAccessible(page, "lien cassé");
  // The help numbers, with the keyboard only.
  const help = main.getByRole("button", { name: "Voir les numéros d'aide" });
  await help.focus();
  await help.press("Enter");
  const card = page.locator("dialog.crisis[open]");
  assert.equal(await card.getByRole("link", { name: /3114/ }).getAttribute("href"), "tel:3114");
  await page.keyboard.press("Escape");
  await card.waitFor({ state: "detached" });
  assert.ok(await focused(help), "focus back on the button");
  await toEnglish(page);
  await page.getByRole("heading", { level: 1, name: "This link does not work" }).waitFor();
  await main.getByText("The link may be too old, or it was stopped. It is not your fault.").waitFor();
  await main.getByRole("heading", { level: 2, name: "What can you do?" }).waitFor();
  await main.getByRole("link", { name: "Go to the association's page" }).waitFor();
  await expectAccessible(page, "broken link (English)");
});

test("a visitor whose helper stopped the link reopens the saved link and reaches the conversation (2)", async (t) => {
  const { aidante, link, linkUrl, page } = await visitorWithHelper(t);
  await aidante.revokeContactLink(link.token);
  // The relay no longer knows the link.
  await assert.rejects(aidante.resolveContactLink(link.token), (e) => e.code === 16);
  await page.goto(linkUrl);
  await page.getByRole("heading", { level: 1, name: "Conversation avec aidante" }).waitFor();
  await bubble(page, "Bonjour, je suis camille.").waitFor();
  // And it still works both ways.
  await aidante.sendText("camille", "Je suis toujours là.");
  await bubble(page, "Je suis toujours là.").waitFor();
  await expectAccessible(page, "lien arrêté, conversation retrouvée");
});

test("a conversation erased from this device only, after a question saying what is erased; a new message brings it back (7)", async (t) => {
  const { aidante, page } = await visitorWithHelper(t);
  await aidante.sendText("camille", "Bonjour camille.");
  await bubble(page, "Bonjour camille.").waitFor();
  const erase = page.getByRole("button", { name: "Effacer de cet appareil" });
  await erase.focus();
  await erase.press("Enter");
  const question = page.locator(".confirm");
  assert.deepEqual(await question.locator("p").allTextContents(), [
    "Effacer cette conversation de cet appareil ?",
    "Ce qui est effacé : 2 messages gardés sur cet appareil.",
    "aidante garde sa copie de la conversation.",
    "Vous restez dans la conversation. Les nouveaux messages arriveront ici.",
    "Vous ne pourrez pas retrouver les messages effacés.",
  ]);
  assert.ok(await focused(question), "focus on the question");
  await expectAccessible(page, "effacer (question)");
  await page.getByRole("button", { name: "Non, garder" }).press("Enter");
  assert.ok(await focused(erase), "focus back on the button");
  assert.deepEqual((await storedTexts(page, "aidante")).sort(), ["Bonjour camille.", "Bonjour, je suis camille."]);
  // English.
  await toEnglish(page);
  await page.getByRole("button", { name: "Erase from this device" }).press("Enter");
  await page.getByText("What is erased: 2 messages kept on this device.").waitFor();
  await page.getByText("aidante keeps their copy of the conversation.").waitFor();
  await expectAccessible(page, "erase (question, English)");
  await page.getByRole("button", { name: "No, keep it" }).press("Enter");
  await toFrench(page);
  await erase.press("Enter");
  await page.getByRole("button", { name: "Oui, effacer de cet appareil" }).press("Enter");
  await page.getByRole("heading", { level: 1, name: "Conversations" }).waitFor();
  await page.getByText("Conversation effacée de cet appareil.").waitFor();
  assert.equal(await page.getByRole("link", { name: /aidante/ }).count(), 0, "the thread left the list");
  assert.deepEqual(await storedTexts(page, "aidante"), []);
  await expectAccessible(page, "conversation effacée");
  // aidante keeps her copy; a reload does not bring anything back.
  assert.deepEqual((await aidante.messages("camille")).filter((m) => !m.event).map((m) => m.text), ["Bonjour, je suis camille.", "Bonjour camille."]);
  await page.reload();
  await connText(page).filter({ hasText: "Connecté." }).waitFor();
  assert.equal(await page.getByRole("link", { name: /aidante/ }).count(), 0);
  // camille stays in the conversation: aidante's next message arrives, alone.
  await aidante.sendText("camille", "Un nouveau message.");
  await page.getByRole("link", { name: /aidante/ }).click();
  await bubble(page, "Un nouveau message.").waitFor();
  assert.deepEqual(await page.locator("ol.messages li.msg:not(.event) .text").allTextContents(), ["Un nouveau message."]);
});

test("a contact link opened where another account lives asks whose account it is before writing under it (7)", async (t) => {
  const server = await serverFor(t, { registration: "open" });
  const aidante = await core(t, server, "aidante");
  const link = await aidante.createContactLink("site", 0);
  const { page } = await personFor(t, browser, PHONE);
  await registerInPage(page, server.url, "pair.aidant");
  await page.goto(`${server.url}/c/${encodeURIComponent(link.token)}`);
  await page.getByRole("heading", { level: 1, name: "Ce navigateur a déjà un compte" }).waitFor();
  await page.getByText("Sur ce navigateur, quelqu'un utilise déjà Cercle avec le pseudonyme « pair.aidant ».").waitFor();
  await page.getByText("Si vous écrivez ici à aidante, aidante verra ce pseudonyme. Et la personne qui utilise ce compte pourra lire vos messages.").waitFor();
  await expectAccessible(page, "autre compte");
  const notMine = page.getByRole("button", { name: "Ce n'est pas mon compte" });
  await notMine.focus();
  await notMine.press("Enter");
  const advice = page.getByText("N'écrivez pas ici. Ouvrez ce lien sur un autre appareil, ou dans une fenêtre privée du navigateur. Le compte « pair.aidant » reste comme il est.");
  await advice.waitFor();
  assert.ok(await focused(advice));
  await expectAccessible(page, "autre compte (pas le mien)");
  // Nothing was opened under that pseudonym: the relay lists no conversation for aidante.
  const listed = await f.wireOf(aidante).call({ case: "listConversations", value: {} }, "conversations");
  assert.equal(listed.conversations.length, 0);
  await toEnglish(page);
  await page.getByRole("heading", { level: 1, name: "This browser already has an account" }).waitFor();
  await page.getByText("On this browser, someone already uses Cercle with the pseudonym “pair.aidant”.").waitFor();
  await expectAccessible(page, "another account (English)");
  await toFrench(page);
  // Their own account: they choose to write.
  await page.getByRole("button", { name: "C'est mon compte : écrire à aidante" }).press("Enter");
  await page.getByRole("heading", { level: 1, name: "Conversation avec aidante" }).waitFor();
  await page.getByLabel("Votre message").fill("Bonjour, c'est pair.aidant.");
  await page.getByRole("button", { name: "Envoyer" }).press("Enter");
  await eventually("aidante reads it", async () => (await aidante.messages("pair.aidant")).some((m) => m.text === "Bonjour, c'est pair.aidant."));
  // The link is remembered: opened again, no question.
  await page.goto(`${server.url}/c/${encodeURIComponent(link.token)}`);
  await page.getByRole("heading", { level: 1, name: "Conversation avec aidante" }).waitFor();
});

test("a professional: no contact links, told they are registered as one; an invitation declined; a line while waiting to be added (11)", async (t) => {
  const server = await serverFor(t, { registration: "open" });
  const camille = await core(t, server, "camille");
  await core(t, server, "alex");
  const { page } = await personFor(t, browser, PHONE);
  await registerInPage(page, server.url, "dr.web");
  await page.getByRole("link", { name: "Liens de contact" }).waitFor();
  server.admin("account", "set-type", "dr.web", "professional");
  await page.reload();
  await connText(page).filter({ hasText: "Connecté." }).waitFor();
  const nav = page.getByRole("navigation", { name: "Menu" });
  await eventually("no contact links in the menu", async () => (await nav.getByRole("link", { name: "Liens de contact" }).count()) === 0);
  await page.goto(`${server.url}/#/links`);
  await page.getByRole("heading", { level: 1, name: "Conversations" }).waitFor();
  await nav.getByRole("link", { name: "Mon compte" }).click();
  await page.getByText("Votre compte est un compte professionnel. Dans les groupes, tout le monde voit que vous êtes une personne professionnelle. Vous entrez dans un groupe seulement si l'animation vous invite.").waitFor();
  await expectAccessible(page, "mon compte (professionnel)");
  await toEnglish(page);
  await page.getByText("Your account is a professional account. In groups, everyone sees that you are a professional. You enter a group only if its facilitators invite you.").waitFor();
  await expectAccessible(page, "my account (professional, English)");
  await toFrench(page);
  // Two invitations: one declined, one accepted.
  const first = await eventually("group 1", () => f.createGroup(camille, { charter: "Premier groupe." }, ["alex"]).catch(() => null), 30_000);
  const second = await eventually("group 2", () => f.createGroup(camille, { charter: "Deuxième groupe." }, ["alex"]).catch(() => null), 30_000);
  await f.invite(camille, first, "dr.web", { professional: true });
  await eventually("one invitation shown", async () => (await page.getByRole("link", { name: "Invitations (1)" }).count()) === 1);
  const signed = await f.invite(camille, second, "dr.web", { professional: true });
  await page.getByRole("link", { name: "Invitations (2)" }).click();
  const items = page.locator("ul.invitations li");
  await items.nth(1).waitFor();
  await items.first().getByText("Si vous ne voulez pas venir, choisissez « Ne pas accepter ». Cercle prévient camille et le groupe. L'invitation ne sera plus affichée.").waitFor();
  await expectAccessible(page, "invitations (ne pas accepter)");
  const ignore = items.filter({ hasText: "Premier groupe." }).getByRole("button", { name: "Ne pas accepter l'invitation de camille" });
  await ignore.focus();
  await ignore.press("Enter");
  const status = page.getByText("Invitation refusée. Cercle a prévenu camille.");
  await status.waitFor();
  assert.ok(await focused(status));
  assert.equal(await items.count(), 1);
  await items.getByText("Deuxième groupe.").waitFor();
  await page.getByRole("button", { name: "J'accepte la charte du groupe de camille" }).press("Enter");
  const waiting = page.getByText("Vous avez accepté l'invitation de camille. Vous attendez que l'animation vous ajoute au groupe. Ensuite, le groupe sera dans cette liste.");
  await waiting.waitFor();
  await expectAccessible(page, "invitation acceptée, en attente");
  // Kept on this device: after a reload, the one declined stays away, the line stays.
  await page.reload();
  await connText(page).filter({ hasText: "Connecté." }).waitFor();
  await waiting.waitFor();
  await page.getByRole("heading", { level: 2, name: "Invitations acceptées" }).waitFor();
  assert.equal(await page.locator("ul.invitations li", { hasText: "Premier groupe." }).count(), 0);
  await toEnglish(page);
  await page.getByText("You accepted the invitation from camille. You are waiting for the facilitators to add you to the group. Then the group will be in this list.").waitFor();
  await expectAccessible(page, "waiting to be added (English)");
  await toFrench(page);
  // Added: the line gives way to the group.
  await f.add(camille, second, "dr.web", signed);
  await page.getByRole("link", { name: /Groupe de parole avec camille, alex/ }).waitFor();
  await waiting.waitFor({ state: "detached" });
});

// ---- A groupe de parole led by the C++ command-line client ----------------------------------------

function cliBinary() {
  const candidates = [process.env.CERCLE_CLI, join(WEB, "../build/bin/cercle"), join(WEB, "../build-web/bin/cercle")];
  const found = candidates.find((p) => p && existsSync(p));
  if (!found) throw new Error("cercle (the CLI) not found: build the cmake target `cercle`, or set CERCLE_CLI");
  return found;
}

/** A registered `cercle` user: its own data folder; one process per command, with a time limit. */
async function cliUser(t, server, handle) {
  const dir = mkdtempSync(join(tmpdir(), "cercle-cli-newcomer-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const env = { ...process.env, CERCLE_PASSPHRASE: `phrase de test de ${handle}` };
  const ok = (args, timeoutMs = 30_000) =>
    new Promise((resolve, reject) => {
      execFile(cliBinary(), ["--server", server.ws, "--data", dir, "--json", ...args], { env, timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
        if (err) return reject(new Error(`cercle ${args.join(" ")}: ${err.killed ? "killed" : err.code}: ${stderr.trim()}`));
        resolve(stdout.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l)));
      });
    });
  await ok(["register", handle]);
  return { ok };
}

test("a member reports a message to the C++ facilitator, who opens it, and leaves the group, which the facilitator's client carries out (12)", async (t) => {
  const server = await serverFor(t, { registration: "open" });
  const anim = await cliUser(t, server, "cli.anim");
  const pair = await cliUser(t, server, "cli.pair");
  const { page } = await personFor(t, browser, PHONE);
  await registerInPage(page, server.url, "web.membre");
  const [{ conversation }] = await anim.ok(["group", "create"]);
  await anim.ok(["group", "policy", conversation, "--charter", "Ce qui se dit ici reste ici."]);
  // The page publishes its key packages just after it is connected: bounded retries until it has.
  await eventually("web.membre added", () => anim.ok(["group", "add", conversation, "web.membre"]).then(() => true).catch(() => false), 30_000);
  await anim.ok(["group", "add", conversation, "cli.pair"]);
  const [{ seq }] = await pair.ok(["send", conversation, "Un message blessant."]);
  await page.getByRole("link", { name: /Groupe de parole avec cli\.anim, cli\.pair/ }).click();
  const said = bubble(page, "Un message blessant.");
  await said.waitFor();
  // The report card in English first (the language switch is behind the modal card).
  await toEnglish(page);
  await said.getByRole("button", { name: "Report the message from cli.pair" }).click();
  const card = page.locator("dialog.report[open]");
  await card.getByText("The report goes to the group's facilitators: cli.anim. Only they can read it. The association cannot read it. The facilitators will know that you made the report.").waitFor();
  await expectAccessible(page, "report (card, English)");
  await card.getByRole("button", { name: "Cancel" }).click();
  await card.waitFor({ state: "detached" });
  await toFrench(page);
  // Report, keyboard only: the card says who reads it; the reason is optional.
  const report = said.getByRole("button", { name: "Signaler le message de cli.pair" });
  await report.focus();
  await report.press("Enter");
  await card.getByRole("heading", { level: 2, name: "Signaler le message de cli.pair" }).waitFor();
  await card.getByText("Le signalement va à l'animation du groupe : cli.anim. Seule l'animation peut le lire. L'association ne peut pas le lire. L'animation saura que c'est vous qui signalez.").waitFor();
  await expectAccessible(page, "signaler (carte)");
  await page.getByLabel("Pourquoi ? (pas obligatoire)").fill("Il se moque de moi.");
  await page.getByRole("button", { name: "Envoyer le signalement" }).press("Enter");
  await page.locator('[role="status"]', { hasText: exactly("Vous avez signalé ce message à l'animation.") }).waitFor();
  await said.getByText("Vous avez signalé ce message à l'animation.").waitFor();
  assert.equal(await said.getByRole("button", { name: /Signaler/ }).count(), 0);
  await expectAccessible(page, "message signalé");
  // The C++ facilitator opens the sealed report: the text, the reason, who reported it.
  const lines = await anim.ok(["listen", "--timeout", "3"], 30_000);
  const reports = lines.filter((l) => typeof l.event === "string" && l.event.startsWith("signalement"));
  assert.deepEqual(reports, [{ conversation, event: `signalement de web.membre sur le message #${seq} (« Un message blessant. ») : Il se moque de moi.` }]);
  // Leave, keyboard only, after a question.
  const leave = page.getByRole("button", { name: "Quitter ce groupe" });
  await leave.focus();
  await leave.press("Enter");
  const question = page.getByText("Quitter ce groupe ? L'animation reçoit votre demande et vous retire du groupe. Ensuite, vous ne recevez plus les messages du groupe. Les messages déjà reçus restent sur cet appareil.");
  await question.waitFor();
  await expectAccessible(page, "quitter (question)");
  await page.getByRole("button", { name: "Oui, quitter ce groupe" }).press("Enter");
  await page.locator(".group-info").getByText("Vous avez demandé à quitter ce groupe. L'animation doit encore vous retirer.").waitFor();
  assert.equal(await leave.isVisible(), false);
  await expectAccessible(page, "départ demandé");
  await toEnglish(page);
  await page.locator(".group-info").getByText("You asked to leave this group. The facilitators still have to remove you.").waitFor();
  await toFrench(page);
  // The facilitator's client commits the request as soon as it reads it.
  await anim.ok(["listen", "--timeout", "3"], 30_000);
  await page.locator(".group-info").getByText("Vous ne faites plus partie de ce groupe. Vous pouvez encore lire les anciens messages.").waitFor();
  const [members] = await anim.ok(["group", "members", conversation]);
  assert.deepEqual(members.map((m) => m.handle).sort(), ["cli.anim", "cli.pair"]);
  await said.waitFor();
  await expectAccessible(page, "groupe quitté");
});

test("a message the relay refuses by the group's rules (written offline, muted meanwhile) says why, with no retry (12)", async (t) => {
  const server = await serverFor(t, { registration: "open" });
  const web = await personFor(t, browser, PHONE);
  const { page } = web;
  await registerInPage(page, server.url, "sam");
  const camille = await core(t, server, "camille");
  await core(t, server, "alex");
  const id = await eventually("group created", () => f.createGroup(camille, { charter: "Ce qui se dit ici reste ici." }, ["sam", "alex"]).catch(() => null), 30_000);
  await page.getByRole("link", { name: /Groupe de parole avec camille, alex/ }).click();
  await page.locator("ol.messages li.msg.event .text", { hasText: "Vous avez rejoint le groupe." }).waitFor();
  // Written without internet; the facilitator mutes sam before it reaches the relay.
  await web.context.setOffline(true);
  await connText(page).filter({ hasText: "Pas d'internet sur cet appareil." }).waitFor();
  await page.getByLabel("Votre message").fill("Écrit hors ligne.");
  await page.getByRole("button", { name: "Envoyer" }).click();
  await f.setRules(camille, id, (p) => p.muted.push("sam"));
  await web.context.setOffline(false);
  const refused = page.locator("li.msg.mine", { has: page.locator(".text", { hasText: "Écrit hors ligne." }) });
  await refused.locator(".status", { hasText: "Pas envoyé" }).waitFor({ timeout: 30_000 });
  await refused.locator(".why", { hasText: exactly("L'animation a suspendu vos messages dans ce groupe.") }).waitFor();
  assert.equal(await refused.getByRole("button", { name: /Réessayer/ }).count(), 0, "no retry: trying again cannot help");
  assert.ok(!(await f.groupMessages(camille, id)).some((m) => m.text === "Écrit hors ligne."), "the relay refused it");
  await expectAccessible(page, "message refusé (membre suspendu)");
  await toEnglish(page);
  await refused.locator(".why", { hasText: exactly("The facilitators paused your messages in this group.") }).waitFor();
  await expectAccessible(page, "refused message (muted, English)");
});

test("a request to leave that another change of the group overtook is made again in the new epoch (12)", async (t) => {
  const server = await serverFor(t, { registration: "open" });
  const { page } = await personFor(t, browser, PHONE);
  await registerInPage(page, server.url, "sam");
  const camille = await core(t, server, "camille");
  await core(t, server, "alex");
  const id = await eventually("group created", () => f.createGroup(camille, { charter: "Ce qui se dit ici reste ici." }, ["sam", "alex"]).catch(() => null), 30_000);
  await page.getByRole("link", { name: /Groupe de parole avec camille, alex/ }).click();
  await page.locator("ol.messages li.msg.event .text", { hasText: "Vous avez rejoint le groupe." }).waitFor();
  await page.getByRole("button", { name: "Quitter ce groupe" }).click();
  await page.getByRole("button", { name: "Oui, quitter ce groupe" }).click();
  const leaving = page.locator(".group-info").getByText("Vous avez demandé à quitter ce groupe. L'animation doit encore vous retirer.");
  await leaving.waitFor();
  const first = await eventually("camille holds sam's request", async () => (await f.leaving(camille, id)).length === 1);
  assert.ok(first);
  const epoch = await f.epoch(camille, id);
  // Another change is committed first: the request dies with its epoch...
  await f.commitNothing(camille, id);
  assert.deepEqual(await f.leaving(camille, id), []);
  // ... and sam's client makes it again in the new one, which camille's client then carries out.
  await eventually("the request made again", async () => (await f.leaving(camille, id)).length === 1);
  assert.equal(await f.epoch(camille, id), epoch + 1n);
  await f.commitLeaving(camille, id);
  await page.locator(".group-info").getByText("Vous ne faites plus partie de ce groupe. Vous pouvez encore lire les anciens messages.").waitFor();
  await leaving.waitFor({ state: "detached" });
  assert.deepEqual((await f.leafHandles(camille, id).then(Object.values)).sort(), ["alex", "camille"]);
  await expectAccessible(page, "groupe quitté (demande refaite)");
});
