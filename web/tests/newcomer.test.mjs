// What a newcomer meets in the web client (issue 14, the points that need only the web client), in
// Debian's Chromium at 360 px against the real relay (a relay double where the relay must refuse a
// message): the unread count in the tab's title while the tab is away, never a name, none during a
// pause (3); a counter near the message limit and a text over it refused in words, kept in the box,
// nothing sent (4); the connection state always in view, "no internet" and "the service does not
// answer" worded apart, the history readable with the relay down (5); a muted member told before
// typing, a refused message saying why with a retry where it may work (6); pseudonym errors naming
// the problem with a pseudonym that works, on the link page and the home page (8); the wording
// (no point médian, no jargon, the link stopped after a question, what erasing the browser loses) (9);
// the offline dot with its words, the invitation card without bullet, the member list folded, the
// group's title following its members (10). axe-core on each new state, French and English.
// Set CERCLE_SCREENSHOTS=<dir> to keep screenshots of the contact page and a member's group page.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { create, facilitator as f, groupKey, MemoryStore, Messenger, proto } from "../build-node/core.mjs";
import { startRelayDouble } from "./relay-double.mjs";
import { ASSOCIATION, chromiumForFile, eventually, exactly, expectAccessible, personFor, PHONE, registerInPage, serverFor, shot, toEnglish, toFrench, WEB } from "./support.mjs";

const browser = chromiumForFile();

const connText = (page) => page.locator(".conn-text");
/** A number as the page writes it in French (3 600 with a narrow no-break space). */
const fr = (n) => new Intl.NumberFormat("fr").format(n);

/** A node client (the same core as the page), signed in, stopped when the test ends. */
async function core(t, server, handle, code) {
  const m = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "cercle-test-newcomer", keyPackageStock: 3 });
  t.after(() => m.stop());
  await m.register(handle, { code });
  assert.ok(await m.waitOnline(10_000));
  return m;
}

/** The tab as the person leaves it: hidden (another tab in front) or only its window behind another. */
function away(page, how) {
  return page.evaluate((how) => {
    if (how === "hidden") {
      Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
      Object.defineProperty(document, "hidden", { value: true, configurable: true });
      document.dispatchEvent(new Event("visibilitychange"));
    }
    document.hasFocus = () => false;
    window.dispatchEvent(new Event("blur"));
  }, how);
}

function back(page) {
  return page.evaluate(() => {
    delete document.visibilityState;
    delete document.hidden;
    delete document.hasFocus;
    document.dispatchEvent(new Event("visibilitychange"));
    window.dispatchEvent(new Event("focus"));
  });
}

/** A helper on the web page (open registration) and bob, a node client, who writes to them. */
async function helperAndBob(t) {
  const server = await serverFor(t, { registration: "open" });
  const helper = await personFor(t, browser(), PHONE);
  await registerInPage(helper.page, server.url, "aidante");
  const bob = await core(t, server, "bob");
  // The page publishes its key packages just after it is connected: bounded retries until it has.
  await eventually("bob reaches aidante", () => bob.startConversation("aidante").then(() => true).catch(() => false));
  return { server, helper, page: helper.page, bob };
}

test("the tab's title counts unread messages while the tab is away, never names anyone, and none during a pause (3)", async (t) => {
  const { page, bob } = await helperAndBob(t);
  await page.getByRole("link", { name: /^bob/ }).waitFor();
  assert.equal(await page.title(), "Conversations – Cercle");
  await away(page, "hidden");
  assert.equal(await page.title(), "Cercle", "away, the title says no more than the service's name");
  await bob.sendText("aidante", "Premier message de bob.");
  await eventually("(1) in the title", async () => (await page.title()) === "(1) Cercle");
  await bob.sendText("aidante", "Deuxième message de bob.");
  await eventually("(2) in the title", async () => (await page.title()) === "(2) Cercle");
  await back(page);
  assert.equal(await page.title(), "Conversations – Cercle");
  // In the conversation, with the window behind another (visible, not focused): not read, counted.
  await page.getByRole("link", { name: /^bob/ }).click();
  await page.getByRole("heading", { level: 1, name: "Conversation avec bob" }).waitFor();
  await away(page, "blur");
  await bob.sendText("aidante", "Troisième message de bob.");
  await eventually("(1) while the window is behind", async () => (await page.title()) === "(1) Cercle");
  const title = await page.title();
  assert.ok(!title.includes("bob") && !title.includes("message"), title);
  await back(page);
  await eventually("read, the count is gone", async () => (await page.title()) === "Conversation avec bob – Cercle");
  await away(page, "hidden");
  assert.equal(await page.title(), "Cercle");
  await back(page);
  // A pause: no count in the title either.
  await page.getByRole("link", { name: "Sécurité" }).click();
  await page.getByRole("heading", { level: 1, name: "Sécurité" }).waitFor();
  await page.getByLabel("1 heure").check();
  await page.getByRole("button", { name: "Commencer la pause" }).click();
  await page.getByRole("banner").getByRole("button", { name: "Arrêter la pause" }).waitFor();
  await away(page, "hidden");
  await bob.sendText("aidante", "Pendant la pause.");
  // The message is in the page's store (and its count in the list's data) before the title is judged.
  await eventually("stored", () =>
    page.evaluate(
      () =>
        new Promise((resolve) => {
          const open = indexedDB.open("cercle", 1);
          open.onsuccess = () => {
            const all = open.result.transaction("messages").objectStore("messages").getAll();
            all.onsuccess = () => resolve(all.result.some((m) => m.text === "Pendant la pause."));
          };
        }),
    ),
  );
  assert.equal(await page.title(), "Cercle", "no count during a pause");
  await back(page);
  await page.getByRole("banner").getByRole("button", { name: "Arrêter la pause" }).click();
  await away(page, "hidden");
  await eventually("the count is back after the pause", async () => (await page.title()) === "(1) Cercle");
});

/** camille, a visitor at 360 px in Chromium, came through the contact link of aidante (a node client). */
async function visitorWithHelper(t, contextOpts = {}) {
  const server = await serverFor(t, { registration: "open" });
  const aidante = await core(t, server, "aidante");
  const link = await aidante.createContactLink("site", 0);
  const visitor = await personFor(t, browser(), { ...PHONE, ...contextOpts });
  const { page } = visitor;
  await page.goto(`${server.url}/c/${encodeURIComponent(link.token)}`);
  await page.getByLabel("Choisissez un pseudonyme").fill("camille");
  await page.getByRole("button", { name: "Commencer" }).click();
  await page.getByRole("heading", { level: 1, name: "Conversation avec aidante" }).waitFor();
  await connText(page).filter({ hasText: "Connecté." }).waitFor();
  return { server, aidante, visitor, page };
}

test("a long message: a counter near the limit, said politely; over it, refused in words and kept, nothing sent (4)", async (t) => {
  const { aidante, page } = await visitorWithHelper(t);
  const box = page.getByLabel("Votre message");
  const counter = page.locator(".composer .counter");
  const spoken = page.locator('.composer [role="status"]');
  await box.fill("a".repeat(3000));
  assert.equal(await counter.isVisible(), false, "no counter far from the limit");
  await box.fill("é".repeat(3600));
  await counter.filter({ hasText: `${fr(3600)} caractères sur ${fr(4000)}.` }).waitFor();
  await spoken.filter({ hasText: exactly(`Il reste ${fr(400)} caractères.`) }).waitFor();
  await expectAccessible(page, "message près de la limite");
  const long = `${"Un long message. ".repeat(240)}Fin.`;  // 4,084 characters.
  assert.equal([...long].length, 4084);
  await box.fill(long);
  await spoken.filter({ hasText: exactly(`Message trop long : ${fr(84)} caractères de trop.`) }).waitFor();
  await page.getByRole("button", { name: "Envoyer" }).click();
  const error = page.locator(".composer .error");
  await error.filter({ hasText: exactly(`Ce message est trop long : ${fr(4084)} caractères. Le maximum est ${fr(4000)}. Coupez-le en plusieurs messages. Votre texte est gardé dans la case.`) }).waitFor();
  assert.equal(await box.inputValue(), long, "the text stays in the box, whole");
  assert.equal(await box.getAttribute("aria-invalid"), "true");
  await expectAccessible(page, "message trop long");
  // English.
  await toEnglish(page);
  await page.getByRole("heading", { level: 1, name: "Conversation with aidante" }).waitFor();
  await page.getByLabel("Your message").fill("b".repeat(3950));
  await page.locator(".composer .counter", { hasText: "3,950 characters out of 4,000." }).waitFor();
  await page.locator('.composer [role="status"]', { hasText: exactly("50 characters left.") }).waitFor();
  await expectAccessible(page, "long message (English)");
  await toFrench(page);
  // Nothing of the long text was sent: a short message after it is the only one aidante reads.
  await page.getByLabel("Votre message").fill("Un message court.");
  await page.getByRole("button", { name: "Envoyer" }).click();
  await eventually("aidante reads the short one", async () => (await aidante.messages("camille")).some((m) => m.text === "Un message court."));
  assert.deepEqual((await aidante.messages("camille")).filter((m) => !m.event).map((m) => m.text), ["Un message court."]);
});

test("the connection state stays in view, tells 'no internet' from 'the service does not answer', and the history is read with the relay down (5, 10)", async (t) => {
  // A helper who never opened the conversation: its screen's code was never fetched by this page.
  const { server, helper, page, bob } = await helperAndBob(t);
  const words = [];
  for (let i = 1; i <= 25; i++) words.push(`Message numéro ${i} de bob, gardé dans ce navigateur.`);
  for (const w of words) await bob.sendText("aidante", w);
  await page.getByRole("link", { name: /^bob/ }).filter({ hasText: "25 nouveaux messages" }).waitFor();
  // In English first (its texts are fetched from the relay, so while it answers).
  await toEnglish(page);
  await helper.context.setOffline(true);
  await connText(page).filter({ hasText: exactly("No internet on this device.") }).waitFor();
  await page.locator(".conn-read", { hasText: "You can read the messages kept here." }).waitFor();
  await expectAccessible(page, "no internet (English)");
  await helper.context.setOffline(false);
  await connText(page).filter({ hasText: "Connected." }).waitFor({ timeout: 20_000 });
  await toFrench(page);
  // The device has no network.
  await helper.context.setOffline(true);
  await connText(page).filter({ hasText: exactly("Pas d'internet sur cet appareil.") }).waitFor();
  await page.locator(".conn-read", { hasText: "Vous pouvez lire les messages gardés ici." }).waitFor();
  await page.locator('#main > [role="status"]', { hasText: "Pas d'internet sur cet appareil. Vous pouvez lire les messages gardés ici." }).waitFor({ state: "attached" });
  // The dot is on the first line of its words, not alone on a line.
  const { dot, line } = await page.evaluate(() => {
    const d = document.querySelector(".conn .dot").getBoundingClientRect();
    const r = document.querySelector(".conn-text").getClientRects()[0];
    return { dot: { top: d.top, bottom: d.bottom }, line: { top: r.top, bottom: r.bottom } };
  });
  assert.ok(dot.bottom > line.top && dot.top < line.bottom, `dot ${JSON.stringify(dot)} beside its words ${JSON.stringify(line)}`);
  await expectAccessible(page, "pas d'internet");
  await helper.context.setOffline(false);
  await connText(page).filter({ hasText: "Connecté." }).waitFor({ timeout: 20_000 });
  // The network is there, the relay is not.
  await server.stop();
  await connText(page).filter({ hasText: /^Le service Cercle ne répond pas\./ }).waitFor({ timeout: 20_000 });
  await page.getByRole("button", { name: "Réessayer maintenant" }).waitFor();
  await expectAccessible(page, "le service ne répond pas");
  // The history kept here opens and reads with the relay down.
  await page.getByRole("link", { name: /^bob/ }).click();
  await page.getByRole("heading", { level: 1, name: "Conversation avec bob" }).waitFor();
  await page.locator("ol.messages li.msg .text", { hasText: exactly(words[24]) }).waitFor();
  assert.deepEqual(await page.locator("ol.messages li.msg:not(.event) .text").allTextContents(), words);
  // Scrolled to the end of a long page, the state is still in view.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  assert.ok(await page.evaluate(() => window.scrollY > 300), "the page did scroll");
  const box = await page.locator(".conn").boundingBox();
  assert.ok(box && box.y >= 0 && box.y + box.height <= 740, `the connection state in view: ${JSON.stringify(box)}`);
  await connText(page).filter({ hasText: /^Le service Cercle ne répond pas\./ }).waitFor();
  await expectAccessible(page, "conversation, le service ne répond pas");
});

/** sam in Chromium at 360 px through a relay double; camille leads a group with sam and alex. */
async function groupAt360(t) {
  const server = await serverFor(t, { registration: "open" });
  const double = await startRelayDouble(server);
  t.after(() => double.stop());
  const web = await personFor(t, browser(), PHONE);
  await registerInPage(web.page, double.url, "sam");
  const camille = await core(t, server, "camille");
  const alex = await core(t, server, "alex");
  const lou = await core(t, server, "lou");
  const id = await eventually("group created", () => f.createGroup(camille, { charter: "Ce qui se dit ici reste ici." }, ["sam", "alex"]).catch(() => null), 30_000);
  const { page } = web;
  await page.getByRole("link", { name: /Groupe de parole avec camille, alex/ }).click();
  await page.getByRole("heading", { level: 1, name: "Groupe de parole avec camille, alex" }).waitFor();
  await page.locator("ol.messages li.msg.event .text", { hasText: "Vous avez rejoint le groupe." }).waitFor();
  return { server, double, web, page, camille, alex, lou, id };
}

test("a group at 360 px: members folded, title following its members; a refused message says why, retried where it may work; a muted member is told before typing (6, 10)", async (t) => {
  const { double, page, camille, id } = await groupAt360(t);
  const people = page.locator("details.people");
  await people.locator("summary", { hasText: "Membres du groupe (3)" }).waitFor();
  assert.equal(await people.evaluate((d) => d.open), false, "the member list is folded on a phone");
  await shot(page, "groupe-membre-360");
  await expectAccessible(page, "groupe à 360 px");
  // The title follows a new member without a reload.
  await eventually("lou added", () => f.add(camille, id, "lou").then(() => true).catch(() => false), 30_000);
  await page.getByRole("heading", { level: 1, name: "Groupe de parole avec camille, alex, lou" }).waitFor();
  await people.locator("summary", { hasText: "Membres du groupe (4)" }).waitFor();
  // The relay refuses a message: why, next to it; no retry where retrying cannot help.
  double.rewriteResponse = (r) => {
    if (r.result.case === "send") r.result = { case: "error", value: create(proto.ErrorSchema, { code: proto.ErrorCode.FORBIDDEN }) };
  };
  await page.getByLabel("Votre message").fill("Refusé par le service.");
  await page.getByRole("button", { name: "Envoyer" }).click();
  const refused = page.locator("li.msg.mine", { has: page.locator(".text", { hasText: "Refusé par le service." }) });
  await refused.locator(".status", { hasText: "Pas envoyé" }).waitFor();
  await refused.locator(".why", { hasText: exactly("Le service refuse ce message : vous ne pouvez pas écrire ici pour l'instant.") }).waitFor();
  assert.equal(await refused.getByRole("button").count(), 0);
  // Too many messages: a retry, which works once the relay takes it.
  double.rewriteResponse = (r) => {
    if (r.result.case === "send") r.result = { case: "error", value: create(proto.ErrorSchema, { code: proto.ErrorCode.RATE_LIMITED, retryAfterMs: 1000n }) };
  };
  await page.getByLabel("Votre message").fill("Trop vite.");
  await page.getByRole("button", { name: "Envoyer" }).click();
  const slow = page.locator("li.msg.mine", { has: page.locator(".text", { hasText: "Trop vite." }) });
  await slow.locator(".why", { hasText: exactly("Trop de messages en peu de temps. Attendez un peu, puis réessayez.") }).waitFor();
  await expectAccessible(page, "message refusé");
  double.rewriteResponse = () => {};
  // With the keyboard: the retry button is reached and pressed without a pointer.
  await slow.getByRole("button", { name: "Réessayer d'envoyer : Trop vite." }).press("Enter");
  await slow.locator(".status", { hasText: "Envoyé" }).waitFor();
  await eventually("camille reads it", async () => (await f.groupMessages(camille, id)).some((m) => m.text === "Trop vite."));
  // Muted: the box gives way to the reason, before any typing.
  await f.setRules(camille, id, (p) => p.muted.push("sam"));
  const closed = page.locator("p.closed");
  await closed.filter({ hasText: exactly("Vous ne pouvez pas écrire dans ce groupe pour l'instant. L'animation a suspendu vos messages. Vous pouvez lire les messages.") }).waitFor();
  assert.ok(await page.getByLabel("Votre message").isHidden(), "no box to type in");
  await expectAccessible(page, "membre suspendu");
  await toEnglish(page);
  await closed.filter({ hasText: exactly("You cannot write in this group for now. The facilitators paused your messages. You can read the messages.") }).waitFor();
  await slow.locator(".status", { hasText: "Sent" }).waitFor();
  await expectAccessible(page, "muted member (English)");
  await toFrench(page);
  // Unmuted: the box is back.
  await f.setRules(camille, id, (p) => (p.muted = []));
  await page.getByLabel("Votre message").waitFor();
  assert.equal(await closed.isVisible(), false);
});

test("an invitation card at 360 px has no bullet or indent (10)", async (t) => {
  const { page, camille, alex } = await groupAt360(t);
  const other = await eventually("second group", () => f.createGroup(camille, { charter: "Deuxième groupe." }, ["alex"]).catch(() => null), 30_000);
  assert.ok(alex);
  await eventually("invited", () => f.invite(camille, other, "sam").then(() => true).catch(() => false));
  await page.getByRole("link", { name: "Invitations (1)" }).click();
  const card = page.locator("ul.invitations");
  await card.getByText("Cette invitation est pour vous, comme pair.").waitFor();
  const style = await card.evaluate((ul) => ({ list: getComputedStyle(ul).listStyleType, pad: getComputedStyle(ul).paddingLeft }));
  assert.deepEqual(style, { list: "none", pad: "0px" });
  await expectAccessible(page, "invitation à 360 px");
});

test("pseudonym errors name the problem in plain words and suggest one that works, on the link page and the home page (8)", async (t) => {
  // As an instance would be set up (the association, a helper's few words): the screenshot shows it.
  const server = await serverFor(t, { registration: "open", association: ASSOCIATION });
  const aidante = await core(t, server, "aidante");
  const link = await aidante.createContactLink("site", 0, "Je suis pair-aidante depuis 5 ans. Je réponds le soir.");
  const { page } = await personFor(t, browser(), PHONE);
  await page.goto(`${server.url}/c/${encodeURIComponent(link.token)}`);
  await page.getByRole("heading", { level: 1, name: "Écrire à aidante" }).waitFor();
  await shot(page, "page-de-contact-360");
  const hint = await page.locator(".hint").allTextContents();
  assert.ok(hint.some((h) => h.includes("Pas d'espace. Pour séparer deux mots, mettez - ou . ou _ entre eux.")), hint.join("|"));
  assert.ok(!hint.join(" ").includes("tiret bas"));
  const field = page.getByLabel("Choisissez un pseudonyme");
  const error = page.locator(".field .error");
  const cases = [
    ["Marie Claire", "Il y a une espace dans ce pseudonyme. Les espaces ne sont pas possibles. Par exemple, ce pseudonyme marche : Marie-Claire"],
    ["Jo😊", "Il y a un émoji dans ce pseudonyme. Les émojis ne sont pas possibles. Par exemple, ce pseudonyme marche : Jo1"],
    ["ali@ce", "Le signe « @ » n'est pas possible dans un pseudonyme. Utilisez des lettres et des chiffres. Par exemple, ce pseudonyme marche : alice"],
    ["Lu", "Ce pseudonyme est trop court. Il faut au moins 3 lettres ou chiffres. Par exemple, ce pseudonyme marche : Lu1"],
    ["a".repeat(40), `Ce pseudonyme est trop long : 40 signes. Il en faut 32 au plus. Par exemple, ce pseudonyme marche : ${"a".repeat(32)}`],
    ["_marie", "Le pseudonyme doit commencer et finir par une lettre ou un chiffre. Par exemple, ce pseudonyme marche : marie"],
    ["marie..claire", "Deux signes - . _ ne peuvent pas se suivre. Par exemple, ce pseudonyme marche : marie.claire"],
  ];
  for (const [typed, said] of cases) {
    await field.fill(typed);
    await field.press("Enter");
    await error.filter({ hasText: exactly(said) }).waitFor();
    assert.equal(await field.inputValue(), typed, "the field keeps what was typed, never cut");
  }
  assert.equal(await field.getAttribute("aria-invalid"), "true");
  await expectAccessible(page, "pseudonyme refusé");
  await toEnglish(page);
  await page.getByLabel("Choose a pseudonym").fill("Marie Claire");
  await page.getByLabel("Choose a pseudonym").press("Enter");
  await error.filter({ hasText: exactly("There is a space in this pseudonym. Spaces are not possible. For example, this pseudonym works: Marie-Claire") }).waitFor();
  await expectAccessible(page, "pseudonym refused (English)");
  await toFrench(page);
  // The suggestion works with the relay.
  await page.getByLabel("Choisissez un pseudonyme").fill("Marie-Claire");
  await page.getByRole("button", { name: "Commencer" }).click();
  await page.getByRole("heading", { level: 1, name: "Conversation avec aidante" }).waitFor();
  // The home page uses the same check.
  const home = await personFor(t, browser(), PHONE);
  await home.page.goto(`${server.url}/`);
  await home.page.getByLabel("Pseudonyme").fill("Léa 🌱");
  await home.page.getByRole("button", { name: "Créer mon compte" }).click();
  await home.page.locator(".field .error", { hasText: exactly("Il y a une espace dans ce pseudonyme. Les espaces ne sont pas possibles. Par exemple, ce pseudonyme marche : Léa") }).waitFor();
  await home.page.getByLabel("Pseudonyme").fill("Léa🌱");
  await home.page.getByRole("button", { name: "Créer mon compte" }).click();
  await home.page.locator(".field .error", { hasText: exactly("Il y a un émoji dans ce pseudonyme. Les émojis ne sont pas possibles. Par exemple, ce pseudonyme marche : Léa") }).waitFor();
  await expectAccessible(home.page, "accueil, pseudonyme refusé");
});

test("wording: no point médian or jargon; the phone has no keyboard hint; a link is stopped after a question; the account page says what is lost (9)", async (t) => {
  // The texts themselves (French and English tables).
  const frText = readFileSync(join(WEB, "src/i18n-fr.ts"), "utf8");
  for (const banned of ["·", "chiffrés de bout en bout", "tiret bas", "Vous seul", "Seuls vous", "Ctrl + Entrée", "Annuler ce lien"]) {
    assert.ok(!frText.includes(banned), `"${banned}" is gone from i18n-fr.ts`);
  }
  // A phone (touch, no fine pointer): no Ctrl + Entrée; a computer: said in words.
  const { server, page } = await visitorWithHelper(t, { isMobile: true, hasTouch: true });
  assert.equal(await page.getByText(/Ctrl/).count(), 0, "no keyboard shortcut on a phone");
  await page.getByText("Le navigateur, c'est l'application qui ouvre les pages internet, par exemple Chrome, Firefox ou Safari.", { exact: false }).first().waitFor();
  await page.getByText("Seules les personnes de cette conversation peuvent lire ces messages. L'association ne peut pas les lire.").waitFor();
  // The account page: exactly what erasing the browser's data loses.
  await page.getByRole("link", { name: "Mon compte" }).click();
  const lost = page.locator("aside", { has: page.getByRole("heading", { level: 2, name: "Si les données de ce navigateur sont effacées" }) });
  assert.deepEqual(await lost.locator("li").allTextContents(), [
    "votre compte : Cercle ne vous reconnaît plus sur cet appareil ;",
    "tous les messages gardés ici ;",
    "vos choix de sécurité : la pause et les mots cachés ;",
    "les personnes que vous avez vérifiées.",
  ]);
  await lost.getByText("Avec une sauvegarde, vous retrouvez votre compte et les messages des conversations à deux. Les messages des groupes de parole ne sont pas dans la sauvegarde.").waitFor();
  await expectAccessible(page, "mon compte (ce qui est perdu)");
  await toEnglish(page);
  await page.getByRole("heading", { level: 2, name: "If this browser's data is erased" }).waitFor();
  await expectAccessible(page, "my account (what is lost, English)");
  // A helper on a computer: the keyboard hint, and a link stopped only after a question (keyboard only).
  const helper = await personFor(t, browser(), PHONE);
  await registerInPage(helper.page, server.url, "pair.aidant");
  const hp = helper.page;
  // On a computer the keyboard shortcut is said, in words.
  await hp.getByLabel("Pseudonyme de la personne").fill("camille");
  await hp.getByRole("button", { name: "Ouvrir la conversation" }).press("Enter");
  await hp.getByRole("heading", { level: 1, name: "Conversation avec camille" }).waitFor();
  await hp.getByText("Avec un clavier d'ordinateur, vous pouvez aussi envoyer avec les touches Ctrl et Entrée.").waitFor();
  await hp.getByRole("link", { name: "Liens de contact" }).click();
  await hp.getByLabel("Nom du lien").fill("affiche");
  await hp.getByRole("button", { name: "Créer le lien" }).press("Enter");
  await hp.getByText("Ce nom est visible seulement par vous. Par exemple : site de l'association.").waitFor();
  const stop = hp.getByRole("button", { name: "Arrêter ce lien : « affiche »" });
  await stop.press("Enter");
  const question = hp.getByText("Arrêter le lien « affiche » ? Personne ne pourra plus l'utiliser pour vous écrire. Les conversations déjà commencées continuent. Vous ne pourrez pas remettre ce lien en marche.");
  await question.waitFor();
  assert.ok(await question.evaluate((el) => el === document.activeElement), "focus on the question");
  await expectAccessible(hp, "arrêter un lien (question)");
  await hp.getByRole("button", { name: "Non, garder ce lien" }).press("Enter");
  assert.ok(await stop.evaluate((el) => el === document.activeElement), "focus back on the button");
  await hp.getByText("Actif.", { exact: true }).waitFor();
  await stop.press("Enter");
  await hp.getByRole("button", { name: "Oui, arrêter ce lien" }).press("Enter");
  await hp.getByText("Arrêté.", { exact: true }).waitFor();
  await hp.getByText("Lien arrêté. Personne ne peut plus l'utiliser.").waitFor();
  await toEnglish(hp);
  await hp.getByText("Stopped.", { exact: true }).waitFor();
  await expectAccessible(hp, "links (stopped, English)");
});
