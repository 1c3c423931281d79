// A whole groupe de parole (issue 13, "Done when"), in Debian's Chromium at 360 px, French, five
// browser contexts against the real relay (test clock): camille (facilitator) creates a named group
// with a description and séance rules (one person at a time, nothing kept after a séance, erased
// 30 minutes after it closes) adding sam, alex and lou by pseudonym; she invites dr.web, a
// professional, who accepts in their browser and is marked as such on every page and beside their
// message. She plans a weekly séance at 18:30 Paris time: lou, in La Réunion, reads 21 h 30 (the
// expected words worked out from Intl). Camille opens the séance; everyone else confirms the
// charter; lou raises a hand and is given the floor: the others' boxes say whose floor it is, and a
// message alex wrote offline is refused by the relay (FORBIDDEN, kept as "Pas envoyé" on alex's
// page only). The floor taken back, sam reports a message of alex's; camille reads the report in
// her inbox, with the message in context, and deletes it for everyone from there, then mutes alex
// on the admin screen (alex's séance bar still follows the séance); the séance closes. After the
// delay (the relay's clock and each page's clock moved on) the séance's messages are gone from the
// relay's data folder (their ciphertexts, as the pages sent them, no longer in any file) and from
// every browser's IndexedDB, while the messages before and after the séance stay. Lou leaves with the
// quick exit: nothing of Cercle left in the tab's history. axe-core (light and dark, 360 px) on
// every screen the test passes through. CERCLE_SCREENSHOTS=<dir> keeps the facilitator's séance
// bar with a raised hand.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ErrorCode, fromBinary, proto } from "../build-node/core.mjs";
import {
  adminStatus,
  assertLeft,
  BEFORE,
  bubble,
  chromiumForFile,
  confirm,
  eventually,
  expectAccessible,
  folderHolds,
  openGroup,
  pageProblems,
  personFor,
  PHONE,
  registerInPage,
  routeExitPages,
  serverFor,
  shot,
  storedGroupTexts,
  storedRecords,
} from "./support.mjs";

const browser = chromiumForFile();
const GROUP = "Les Lucioles";
const ERASE_MINUTES = 30;

/**
 * A person in their own context whose page's clock can be moved (installed before Cercle loads),
 * and whose page's sent messages are recorded (`sends`: the MLS ciphertexts, as the relay gets them).
 * With `exitFrom`, the tab shows a page before Cercle (the quick exit's test). `zone`: the person's time zone.
 */
async function person(t, server, handle, code, { exitFrom = false, zone = "Europe/Paris" } = {}) {
  const p = await personFor(t, browser(), { ...PHONE, timezoneId: zone });
  p.handle = handle;
  p.sends = [];
  p.page.on("websocket", (ws) =>
    ws.on("framesent", ({ payload }) => {
      if (typeof payload === "string") return;
      const frame = fromBinary(proto.ClientFrameSchema, new Uint8Array(payload));
      if (frame.request.case === "send") p.sends.push(Buffer.from(frame.request.value.payload));
    }),
  );
  await p.page.clock.install();
  if (exitFrom) {
    await routeExitPages(p.context);
    await p.page.goto(BEFORE);
  }
  await registerInPage(p.page, server.url, handle, code);
  return p;
}

const bar = (page) => page.locator("section.seance-bar");
const barButton = (page, name) => bar(page).getByRole("button", { name, exact: true });
const closedBox = (page) => page.locator("p.warning-inline.closed");
const composer = (page) => page.locator("form.composer textarea");
/** The message box as a reader meets it (none while the page says why one cannot write). */
const shownBox = (page) => page.getByRole("textbox", { name: /Votre message/ });
const mine = (page, text) => page.locator("li.msg.mine", { has: page.locator("p.text", { hasText: text }) });

/** Writes `text` in the group; resolves once the relay took it, with its ciphertext as the page sent it. */
async function write(p, text) {
  const from = p.sends.length;
  await composer(p.page).fill(text);
  await p.page.locator("form.composer").getByRole("button", { name: "Envoyer" }).click();
  await mine(p.page, text).locator(".status.sent").waitFor({ timeout: 30_000 });
  assert.ok(p.sends.length > from, `${p.handle}'s page sent "${text}"`);
  return p.sends.at(-1);  // The last try is the one the relay kept (an earlier one: another epoch).
}

/**
 * A weekly séance a week from now at 18:30 in Paris: `day` (YYYY-MM-DD, Paris) and the lines a
 * member reads in `zone` (worked out here from Intl, not from the client's code).
 */
function weeklyAt1830Paris() {
  const inZone = (zone, opts, ms) => new Intl.DateTimeFormat("fr-FR", { timeZone: zone, ...opts }).format(new Date(ms));
  const day = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Paris" }).format(new Date(Date.now() + 7 * 86_400_000));
  const [y, m, d] = day.split("-").map(Number);
  // 18:30 in Paris is 17:30 UTC in winter, 16:30 UTC in summer.
  const start = [17, 16].map((h) => Date.UTC(y, m - 1, d, h, 30)).find((ms) => inZone("Europe/Paris", { hour: "2-digit", minute: "2-digit" }, ms) === "18:30");
  return {
    day,
    linesFor(zone) {
      const [hour, minute] = inZone(zone, { hour: "numeric", minute: "2-digit", hourCycle: "h23" }, start).split(":");
      const at = `${Number(hour)} h ${minute}`;
      const sameYear = inZone(zone, { year: "numeric" }, start) === inZone(zone, { year: "numeric" }, Date.now());
      const date = inZone(zone, { weekday: "long", day: "numeric", month: "long", year: sameYear ? undefined : "numeric" }, start);
      const lines = [`Prochaine séance : ${date} à ${at}, pendant 1 h 30.`, `Chaque ${inZone(zone, { weekday: "long" }, start)} à ${at}, pendant 1 h 30.`];
      return zone === "Europe/Paris" ? lines : [...lines, "Les heures sont celles de chez vous."];
    },
  };
}

/** Adds `what` to the error of a failed wait. */
async function saying(what, promise) {
  try {
    return await promise;
  } catch (e) {
    e.message = `${what}: ${e.message}`;
    throw e;
  }
}

/** Waits until each page shows `text`. */
async function reaches(people, text) {
  for (const p of people) await bubble(p.page, text).waitFor({ timeout: 30_000 });
}

/** The group messages this page keeps as not sent, with the relay's refusal (failCode). */
async function storedFailures(page) {
  const all = await storedRecords(page, "messages");
  return all.filter((m) => m.peer.startsWith("#") && m.status === "failed").map((m) => ({ text: m.text, failCode: m.failCode }));
}

test("a whole groupe de parole: create, add, invite a professional, a séance with the floor, a report, mute, delete, erased after the séance, quick exit", async (t) => {
  const started = Date.now();
  const server = await serverFor(t, { registration: "invite-code", codes: 5, testClock: true });
  const camille = await person(t, server, "camille", server.codes[0]);
  const sam = await person(t, server, "sam", server.codes[1]);
  const alex = await person(t, server, "alex", server.codes[2]);
  const lou = await person(t, server, "lou", server.codes[3], { exitFrom: true, zone: "Indian/Reunion" });
  const pro = await person(t, server, "dr.web", server.codes[4]);
  server.admin("account", "set-type", "dr.web", "professional");
  await pro.page.reload();
  await pro.page.locator(".conn-text", { hasText: "Connecté." }).waitFor();
  const peers = [sam, alex, lou];
  const everyone = [camille, sam, alex, lou, pro];
  const page = camille.page;

  // ---- The group: a name, a description, three peers, the séance rules --------------------------
  await page.getByRole("link", { name: "Créer un groupe" }).click();
  await page.getByRole("heading", { level: 1, name: "Créer un groupe de parole" }).waitFor();
  await page.getByLabel("Nom du groupe").fill(GROUP);
  await page.getByLabel("Description (si vous voulez)").fill("On parle du sommeil, une fois par semaine.");
  await page.getByLabel("Pseudonymes des personnes à ajouter (si vous voulez)").fill("sam, alex, lou");
  await page.getByLabel("Le groupe se réunit en séances", { exact: false }).check();
  await page.getByLabel("Une personne à la fois", { exact: false }).check();
  await page.getByLabel("Effacer les messages après chaque séance").check();
  await page.getByLabel("Délai avant d'effacer (minutes)").fill(String(ERASE_MINUTES));
  await expectAccessible(page, "créer un groupe (avec des séances)", { names: true });
  await page.getByRole("button", { name: "Créer le groupe" }).click();
  await page.getByRole("heading", { level: 1, name: `Gérer le groupe ${GROUP}` }).waitFor({ timeout: 30_000 });
  await expectAccessible(page, "gérer le groupe", { names: true });

  // ---- A professional invited from the admin screen, accepting in their own browser --------------
  await page.getByLabel("Pseudonyme", { exact: true }).nth(1).fill("dr.web");
  await page.getByLabel("C'est une personne professionnelle (soin, travail social…)").check();
  await page.getByRole("button", { name: "Inviter", exact: true }).click();
  await adminStatus(page).getByText("L'invitation est envoyée à dr.web.").waitFor({ timeout: 30_000 });
  await pro.page.getByRole("link", { name: "Invitations (1)" }).click();
  await pro.page.getByText("Ce qui se dit ici reste ici. On écoute sans juger. Chacun parle de soi.").waitFor();
  await expectAccessible(pro.page, "une invitation, vue par la personne professionnelle");
  await pro.page.getByRole("button", { name: "J'accepte la charte du groupe de camille" }).click();
  await page.locator(".admin-lists li.member.pro", { hasText: "dr.web" }).getByText("personne professionnelle", { exact: false }).waitFor({ timeout: 30_000 });

  // A weekly séance planned a week from now at 18:30 in Paris (camille's clocks), for 1 h 30.
  const plan = weeklyAt1830Paris();
  await page.locator("[name=plan-date]").fill(plan.day);
  await page.locator("[name=plan-hour]").fill("18:30");
  await page.getByLabel("Chaque semaine, le même jour à la même heure").check();
  await page.getByRole("button", { name: "Prévoir la séance" }).click();
  await adminStatus(page).getByText("La séance est prévue.").waitFor({ timeout: 30_000 });
  await page.locator(".seance-planned li", { hasText: plan.linesFor("Europe/Paris")[1] }).waitFor();

  // Everyone opens the group; the professional is marked on every page.
  await page.getByRole("link", { name: "Retour aux messages du groupe" }).click();
  await page.getByRole("heading", { level: 1, name: GROUP }).waitFor();
  for (const p of [...peers, pro]) {
    await eventually(`${p.handle} has the group`, async () => (await p.page.getByRole("link", { name: GROUP }).count()) > 0 || (await p.page.getByRole("link", { name: "Conversations", exact: true }).click(), false), 30_000);
    await openGroup(p.page, GROUP);
  }
  for (const p of everyone) {
    await eventually(`${p.handle} lists dr.web`, async () => (await p.page.locator("ul.members li.member.pro", { hasText: "dr.web" }).count()) === 1, 30_000);
    assert.match(await p.page.locator("ul.members li.member.pro", { hasText: "dr.web" }).locator(".role").textContent(), /personne professionnelle/);
  }
  for (const p of peers) await p.page.locator("p.pro-notice", { hasText: "Attention : une personne professionnelle est dans ce groupe : dr.web." }).waitFor();
  for (const p of peers) await p.page.getByText("On parle du sommeil, une fois par semaine.").waitFor();
  // Each member reads the planned séance on their own clocks: lou, in La Réunion, three hours later.
  for (const p of [...peers, pro]) {
    const lines = plan.linesFor(p === lou ? "Indian/Reunion" : "Europe/Paris");
    // Compared with plain spaces: the page keeps "18 h 30" on one line with no-break spaces.
    await eventually(`${p.handle} reads ${JSON.stringify(lines)}`, async () => {
      const read = (await bar(p.page).locator(".seance-plan p").allTextContents()).map((x) => x.replace(/[\u00a0\u202f]/g, " "));
      if (JSON.stringify(read) !== JSON.stringify(lines)) throw new Error(`reads ${JSON.stringify(read)}`);
      return true;
    }, 30_000);
  }
  await expectAccessible(lou.page, "la séance prévue, vue de La Réunion");
  const before = "Bonjour à toutes et à tous. Je suis là pour écouter.";
  const beforeCipher = await write(pro, before);
  await reaches([camille, ...peers], before);
  for (const p of [camille, ...peers]) {
    const row = p.page.locator("li.msg.theirs", { has: p.page.locator("p.text", { hasText: before }) });
    assert.equal(await row.locator(".tag.pro").textContent(), "personne professionnelle", `${p.handle} sees dr.web marked beside the message`);
  }
  await expectAccessible(sam.page, "le groupe, vu par un membre (une personne professionnelle)");

  // ---- The séance opens; everyone else confirms the charter -------------------------------------
  await barButton(page, "Ouvrir la séance").click();
  await bar(page).getByText(/^Séance ouverte depuis \d{1,2} h \d\d\./).waitFor();
  for (const p of [...peers, pro]) {
    await saying(`${p.handle} reads the charter`, bar(p.page).getByRole("heading", { name: "La charte du groupe" }).waitFor({ timeout: 30_000 }));
    await closedBox(p.page).getByText("Confirmez la charte ci-dessus pour écrire.").waitFor();
  }
  await expectAccessible(lou.page, "la séance s'ouvre : la charte");
  for (const p of [...peers, pro]) {
    await barButton(p.page, "J'ai lu la charte, je la respecte").click();
    await closedBox(p.page).waitFor({ state: "hidden" });
  }
  const during = ["Pendant la séance : je dors mal depuis un mois.", "Merci. Moi aussi, surtout le dimanche."];
  const duringCiphers = [await write(sam, during[0])];
  await reaches([camille, alex, lou, pro], during[0]);

  // ---- A hand, the floor: the others cannot write (their page says so, the relay refuses) --------
  await alex.context.setOffline(true);
  await alex.page.locator(".conn-text", { hasText: "Pas d'internet sur cet appareil." }).waitFor();
  const offTurn = "Écrit hors ligne, pendant le tour de lou.";
  await composer(alex.page).fill(offTurn);
  await alex.page.locator("form.composer").getByRole("button", { name: "Envoyer" }).click();
  await mine(alex.page, offTurn).locator(".status", { hasText: "En attente de connexion" }).waitFor();
  await barButton(lou.page, "Lever la main").click();
  await bar(page).getByText("Mains levées : lou.").waitFor();
  await expectAccessible(page, "la séance, vue par l'animatrice (une main levée)");
  await shot(page, "groupe-complet-main-levee");
  await barButton(page, "Donner la parole à lou").click();
  await bar(lou.page).locator("p.seance-state", { hasText: "La parole est à vous." }).waitFor();
  await expectAccessible(lou.page, "la parole est à vous");
  for (const p of [sam, pro]) {
    await closedBox(p.page).getByText("La parole est à lou. Levez la main pour parler.").waitFor();
    assert.equal(await shownBox(p.page).count(), 0, `${p.handle} has no box while lou has the floor`);
  }
  await expectAccessible(sam.page, "la parole est à lou, vue par sam");
  await alex.context.setOffline(false);
  const refused = mine(alex.page, offTurn);
  await refused.locator(".status", { hasText: "Pas envoyé" }).waitFor({ timeout: 30_000 });
  await refused.locator(".why", { hasText: "Le service refuse ce message : vous ne pouvez pas écrire ici pour l'instant." }).waitFor();
  assert.deepEqual(await storedFailures(alex.page), [{ text: offTurn, failCode: ErrorCode.FORBIDDEN }], "the relay refused it (FORBIDDEN)");
  await closedBox(alex.page).getByText("La parole est à lou. Levez la main pour parler.").waitFor();
  await expectAccessible(alex.page, "un message refusé pendant le tour de lou");
  duringCiphers.push(await write(lou, during[1]));
  await reaches([camille, sam, alex, pro], during[1]);
  // Lou's message came after alex's refusal, to every page: alex's never came before it.
  for (const p of [camille, sam, lou, pro]) assert.equal(await bubble(p.page, offTurn).count(), 0, `${p.handle} never got alex's refused message`);

  // ---- A report, a deletion for everyone, a member muted ----------------------------------------
  await barButton(page, "Reprendre la parole").click();
  await closedBox(alex.page).waitFor({ state: "hidden" });
  const hurtful = "Arrêtez de vous plaindre, dormez et c'est tout.";
  const hurtfulCipher = await write(alex, hurtful);
  await reaches([camille, sam, lou, pro], hurtful);
  await sam.page.getByRole("button", { name: "Signaler le message de alex" }).click();
  const dialog = sam.page.getByRole("dialog", { name: "Signaler le message de alex" });
  await dialog.getByLabel("Pourquoi ? (pas obligatoire)").fill("Ce message me fait mal.");
  await expectAccessible(sam.page, "signaler un message");
  await dialog.getByRole("button", { name: "Envoyer le signalement" }).click();
  await dialog.waitFor({ state: "detached" });
  await sam.page.locator("li.msg", { has: sam.page.locator("p.text", { hasText: hurtful }) }).getByText("Vous avez signalé ce message à l'animation.").waitFor();
  // The report reaches camille's inbox: she reads it with the message in context and deletes it.
  await page.getByRole("link", { name: "1 signalement à lire" }).click({ timeout: 30_000 });
  await page.getByRole("heading", { level: 1, name: `Signalements – ${GROUP}` }).waitFor();
  const report = page.locator("li.report-item", { hasText: "Signalement de sam" });
  await report.getByText("Sa raison : Ce message me fait mal.").waitFor();
  await report.locator("li.msg.reported", { hasText: "Message signalé" }).getByText(hurtful).waitFor();
  await report.locator("li.msg", { hasText: during[1] }).waitFor();  // The message before it, in context.
  await expectAccessible(page, "la boîte des signalements", { names: true });
  await report.getByRole("button", { name: "Supprimer pour tout le monde le message de alex" }).click();
  await page.locator(".report-inbox p.notice[role=status]").getByText("Le message est supprimé pour tout le monde. Le signalement est fermé.").waitFor({ timeout: 30_000 });
  await page.getByText("Aucun signalement à lire.").waitFor();
  for (const p of [sam, alex, lou, pro]) await bubble(p.page, hurtful).waitFor({ state: "detached", timeout: 30_000 });
  await page.getByRole("link", { name: "Retour au groupe" }).click();
  await page.getByRole("link", { name: "Gérer le groupe" }).click();
  await page.getByRole("heading", { level: 1, name: `Gérer le groupe ${GROUP}` }).waitFor();
  await confirm(page, "Empêcher alex d'écrire");
  await adminStatus(page).getByText("alex ne peut plus écrire.").waitFor({ timeout: 30_000 });
  await alex.page.getByText("Vous ne pouvez pas écrire dans ce groupe pour l'instant.", { exact: false }).waitFor({ timeout: 30_000 });
  assert.equal(await shownBox(alex.page).count(), 0, "alex, muted, has no box");
  await expectAccessible(alex.page, "un membre empêché d'écrire");
  await expectAccessible(page, "gérer le groupe, alex empêché d'écrire", { names: true });

  // ---- The séance closes; its messages stay until the delay ends --------------------------------
  await page.getByRole("link", { name: "Retour aux messages du groupe" }).click();
  await page.getByRole("heading", { level: 1, name: GROUP }).waitFor();
  await barButton(page, "Fermer la séance").click();
  for (const p of everyone) await saying(`${p.handle}'s bar says the séance closed`, bar(p.page).getByText("Pas de séance en ce moment.").waitFor({ timeout: 30_000 }));
  const after = "Après la séance : bonne semaine à toutes et à tous.";
  const afterCipher = await write(sam, after);
  await reaches([camille, alex, lou, pro], after);
  // A round trip after the closing (sam's message reached everyone): nothing erased before the delay.
  for (const p of everyone) {
    const texts = await storedGroupTexts(p.page);
    for (const text of [before, ...during, after]) assert.ok(texts.includes(text), `${p.handle} keeps "${text}" before the delay`);
  }
  for (const [i, c] of duringCiphers.entries()) assert.ok(folderHolds(server.data, c), `the relay keeps séance message ${i} before the delay`);
  for (const c of [beforeCipher, afterCipher]) assert.ok(folderHolds(server.data, c), "the scan finds a message the relay keeps");
  await expectAccessible(page, "la séance est fermée, vue par l'animatrice");

  // ---- After the delay: erased from the relay's data folder and from every browser --------------
  server.admin("clock", "advance", "1");
  for (const p of everyone) await p.page.clock.fastForward(`01:${String(ERASE_MINUTES + 5).padStart(2, "0")}:00`);
  for (const p of everyone) {
    await eventually(
      `${p.handle}'s IndexedDB lost the séance's messages`,
      async () => {
        const texts = await storedGroupTexts(p.page);
        return during.every((x) => !texts.includes(x)) && [before, after].every((x) => texts.includes(x));
      },
      30_000,
    );
    await eventually(`${p.handle}'s page no longer shows them`, async () => (await bubble(p.page, during[0]).count()) + (await bubble(p.page, during[1]).count()) === 0);
    await bubble(p.page, before).waitFor();
    await bubble(p.page, after).waitFor();
  }
  await eventually("the séance's ciphertexts left the relay's data folder", () => [...duringCiphers, hurtfulCipher].every((c) => !folderHolds(server.data, c)), 30_000);
  for (const c of [beforeCipher, afterCipher]) assert.ok(folderHolds(server.data, c), "the messages before and after the séance stay on the relay");
  await expectAccessible(sam.page, "le groupe après l'effacement de la séance");

  // ---- The quick exit, once: nothing of Cercle left in lou's tab --------------------------------
  const length = await lou.page.evaluate(() => history.length);
  await lou.page.getByRole("region", { name: "Aide et sortie rapide" }).getByRole("button", { name: "Quitter vite" }).click();
  await assertLeft(lou.page, length);

  for (const p of everyone) assert.deepEqual(pageProblems(p), [], `${p.handle}'s page had no errors`);
  t.diagnostic(`took ${Math.round((Date.now() - started) / 1000)} s`);
});

