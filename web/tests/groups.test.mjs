// A groupe de parole in Chromium: the browser user is a member of a group that a node-side
// facilitator (the client core, as a test helper) created with its rules. The page shows who leads
// the group and marks a professional as such in the member list and beside each of their messages;
// group events are said in plain words (and through the live region); a deletion removes the
// message from the page and from IndexedDB; a forged commit (a member who is not a facilitator
// adding someone, passed on by a relay double) is refused, the group stays on its epoch and the
// user is warned; entries erased while offline do not stall the stream; the group's retention
// deletes old copies. axe-core on the group screens, light and dark, French and English. Each test
// has its own relay, double, browser context and accounts (the fixtures below): any test runs alone
// or in any order.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { facilitator as f, groupKey, MemoryStore, Messenger, proto } from "../build-node/core.mjs";
import { startRelayDouble } from "./relay-double.mjs";
import { eventually, exactly, expectAccessible, horizontalOverflow, launchBrowser, personFor, registerInPage, serverFor, storedGroupTexts } from "./support.mjs";

let browser;
const CHARTER = "Ce qui se dit ici reste ici.";

const bubble = (page, text) => page.locator("ol.messages li.msg", { has: page.locator(".text", { hasText: text }) });
const shownTexts = (page) => page.locator("ol.messages li.msg:not(.event) .text").allTextContents();
const eventTexts = (page) => page.locator("ol.messages li.msg.event .text").allTextContents();
/** An event shown in the conversation, by its exact words. */
const ev = (page, text) => page.locator("ol.messages li.msg.event p.text", { hasText: exactly(text) });
const rulesButton = (page) => page.locator("summary", { hasText: "Règles du groupe" });
const live = (page) => page.locator("main [aria-live=polite]").textContent();

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/**
 * A relay (test clock) behind a relay double; sam in Chromium through the double (the page's clock
 * installed, running as the real one until a test moves it); camille, alex and `others` as node
 * clients, `pros` made professionals; `spare` codes left for the test. Stopped when the test ends.
 */
async function world(t, { others = [], pros = [], spare = 0 } = {}) {
  const handles = ["camille", "alex", ...others, ...pros];
  const server = await serverFor(t, { registration: "invite-code", codes: 1 + handles.length + spare, testClock: true });
  const double = await startRelayDouble(server);
  t.after(() => double.stop());
  const web = await personFor(t, browser, { viewport: { width: 1024, height: 800 } });
  await web.page.clock.install();
  await registerInPage(web.page, double.url, "sam", server.codes[0]);
  const people = {};
  for (const [i, handle] of handles.entries()) {
    const m = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "cercle-test-groups", keyPackageStock: 3 });
    t.after(() => m.stop());
    await m.register(handle, { code: server.codes[i + 1] });
    assert.ok(await m.waitOnline(10_000));
    people[handle] = m;
  }
  for (const handle of pros) {
    server.admin("account", "set-type", handle, "professional");
    people[handle].stop();
    people[handle].start();
    assert.ok(await people[handle].waitOnline(10_000));
  }
  return { server, double, web, people, camille: people.camille, alex: people.alex, spareCodes: server.codes.slice(1 + handles.length) };
}

/** world(), and the group camille leads with sam and alex (charter CHARTER), open on sam's page. */
async function group(t, opts) {
  const w = await world(t, opts);
  const id = await eventually("group created", () => f.createGroup(w.camille, { charter: CHARTER }, ["sam", "alex"]).catch(() => null), 30_000);
  const { page } = w.web;
  await page.getByRole("link", { name: /Groupe de parole avec camille, alex/ }).click();
  await page.getByRole("heading", { level: 1, name: "Groupe de parole avec camille, alex" }).waitFor();
  await ev(page, "Vous avez rejoint le groupe.").waitFor();
  // alex too has joined (what the tests make him send or forge starts from the group's state).
  await eventually("alex in the group", () => w.alex.groupView(groupKey(id))?.roster.length === 3);
  return { ...w, id };
}

test("the browser user joins a group: its leader is shown, and its rules", async (t) => {
  const { web, camille } = await world(t);
  const id = await eventually("group created", () => f.createGroup(camille, { charter: CHARTER }, ["sam", "alex"]).catch(() => null), 30_000);
  const { page } = web;
  const thread = page.getByRole("link", { name: /Groupe de parole avec camille, alex/ });
  await thread.waitFor();
  await thread.click();
  await page.getByRole("heading", { level: 1, name: "Groupe de parole avec camille, alex" }).waitFor();
  const members = page.locator("ul.members > li > .person");
  await eventually("three members", async () => (await members.count()) === 3);
  assert.deepEqual((await members.allTextContents()).map((s) => s.trim()), ["camille animateur ou animatrice", "alex", "sam (vous)"]);
  await ev(page, "Vous avez rejoint le groupe.").waitFor();
  // The rules open from the keyboard (Tab to them, Enter), with a visible focus.
  let reached = false;
  for (let i = 0; i < 60 && !reached; i++) {
    await page.keyboard.press("Tab");
    reached = await page.evaluate(() => document.activeElement?.tagName === "SUMMARY" && document.activeElement.parentElement.classList.contains("rules"));
  }
  assert.ok(reached, "the group's rules are reached with Tab");
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, "none", "focus is visible on the rules");
  await page.keyboard.press("Enter");
  await page.locator("details.rules p", { hasText: exactly("Ce qui se dit ici reste ici.") }).waitFor();
  await page.locator("details.rules p", { hasText: exactly("Le groupe n'a pas fixé de durée : les messages sont gardés.") }).waitFor();
  await expectAccessible(page, "groupe de parole", { dark: false, reflow: false });
  await page.getByLabel("Votre message").fill("Bonjour à toutes et à tous.");
  await page.getByRole("button", { name: "Envoyer" }).click();
  await eventually("camille reads sam", async () => (await f.groupMessages(camille, id)).some((m) => m.text === "Bonjour à toutes et à tous."));
});

test("a professional joins by invitation: visible in the list and beside every message (a)", async (t) => {
  const { web, camille, alex, people, id } = await group(t, { pros: ["dr.martin"] });
  const drMartin = people["dr.martin"];
  const { page, problems } = web;
  const signed = await f.invite(camille, id, "dr.martin", { professional: true, accompanying: "sam" });
  await ev(page, "camille a invité dr.martin, une personne professionnelle, qui accompagne sam.").waitFor();
  await f.accept(drMartin, id, signed);
  await ev(page, "dr.martin a accepté l'invitation.").waitFor();
  await f.add(camille, id, "dr.martin", signed);
  await ev(page, "dr.martin, une personne professionnelle, a rejoint le groupe.").waitFor();
  const pro = page.locator("ul.members > li > .person", { hasText: "dr.martin" });
  await pro.waitFor();
  assert.equal((await pro.textContent()).trim(), "dr.martin personne professionnelle invitée, accompagne sam");
  await page.locator(".group-info .pro-notice", { hasText: exactly("Attention : une personne professionnelle est dans ce groupe : dr.martin.") }).waitFor();
  await eventually("dr.martin joined", () => drMartin.groupView(groupKey(id))?.roster.length === 4);
  await drMartin.sendText(groupKey(id), "Bonjour, je suis là pour accompagner Sam.");
  const msg = bubble(page, "Bonjour, je suis là pour accompagner Sam.");
  await msg.waitFor();
  assert.equal(await msg.locator(".who").textContent(), "dr.martin");
  assert.equal(await msg.locator(".tag.pro").textContent(), "personne professionnelle");
  await eventually("announced", async () => (await live(page)) === "Nouveau message de dr.martin (personne professionnelle) : Bonjour, je suis là pour accompagner Sam.");
  // A peer's message has no such mark.
  await alex.sendText(groupKey(id), "Bienvenue.");
  await bubble(page, "Bienvenue.").waitFor();
  assert.equal(await bubble(page, "Bienvenue.").locator(".tag").count(), 0);
  await expectAccessible(page, "groupe avec une professionnelle", { dark: false, reflow: false });
  await page.emulateMedia({ colorScheme: "dark" });
  await expectAccessible(page, "groupe avec une professionnelle (sombre)", { dark: false, reflow: false });
  await page.emulateMedia({ colorScheme: "light" });
  for (const width of [360, 320]) {
    await page.setViewportSize({ width, height: 740 });
    assert.ok((await horizontalOverflow(page)) <= 0, `horizontal scrolling at ${width} px`);
  }
  await page.setViewportSize({ width: 1024, height: 800 });
  // In English too.
  await page.getByRole("button", { name: "English" }).click();
  await page.locator("ul.members li", { hasText: "invited professional, accompanies sam" }).waitFor();
  await bubble(page, "Bonjour, je suis là pour accompagner Sam.").locator(".tag.pro", { hasText: "professional" }).waitFor();
  await ev(page, "camille invited dr.martin, a professional, who accompanies sam.").waitFor();
  await expectAccessible(page, "group (English)", { dark: false, reflow: false });
  await page.getByRole("button", { name: "Français" }).click();
  await page.getByRole("heading", { level: 1, name: /Groupe de parole avec/ }).waitFor();
  assert.deepEqual(problems, []);
});

test("a withdrawn invitation and a message deleted by the facilitator are shown; the message is gone (b)", async (t) => {
  const { web, camille, alex, id } = await group(t, { others: ["intrus"] });
  const { page } = web;
  const invitation = await f.invite(camille, id, "intrus", {});
  await ev(page, "camille a invité intrus.").waitFor();
  await f.revoke(camille, id, invitation);
  await ev(page, "L'invitation de intrus a été retirée.").waitFor();
  await alex.sendText(groupKey(id), "Un message que l'animation va supprimer.");
  await bubble(page, "Un message que l'animation va supprimer.").waitFor();
  assert.ok((await storedGroupTexts(page)).includes("Un message que l'animation va supprimer."));
  const target = await eventually("camille has it", async () =>
    (await f.groupMessages(camille, id)).find((m) => m.text === "Un message que l'animation va supprimer." && m.seq > 0),
  );
  await f.deleteEntry(camille, id, target.seq);
  await ev(page, "Un message a été supprimé par l'animation.").waitFor();
  await bubble(page, "Un message que l'animation va supprimer.").waitFor({ state: "detached" });
  await eventually("gone from IndexedDB", async () => !(await storedGroupTexts(page)).includes("Un message que l'animation va supprimer."));
  await eventually("announced", async () => (await live(page)) === "Dans le groupe : Un message a été supprimé par l'animation.");
  await expectAccessible(page, "groupe après une suppression", { dark: false, reflow: false });
});

test("a forged commit is refused: the group stays on its epoch and the user is warned (c)", async (t) => {
  const { web, double, camille, alex, id } = await group(t, { others: ["intrus"] });
  const { page } = web;
  const epoch = await f.epoch(camille, id);
  // Alex, a plain member, builds a commit adding "intrus". The relay would refuse it; the relay
  // double shows it to the browser in place of alex's next message, as a lying relay would.
  const forged = await f.forgeCommit(alex, id, { addHandle: "intrus" });
  let replaced = 0;
  double.rewrite = (d) => {
    if (replaced || d.kind !== proto.DeliveryKind.APPLICATION || d.senderDevice !== alex.account.deviceId) return d;
    replaced += 1;
    return { ...d, kind: proto.DeliveryKind.COMMIT, epoch, payload: forged };
  };
  await alex.sendText(groupKey(id), "Ce message est remplacé par le relais menteur.");
  await ev(page, "Attention : un changement du groupe est refusé. Il ne respecte pas les règles du groupe. Seule l'animation ajoute quelqu'un à ce groupe. Il voulait ajouter intrus. Le groupe reste comme avant.").waitFor();
  double.rewrite = (d) => d;
  assert.equal(replaced, 1);
  await page.locator(".group-info .warning-inline", { hasText: "Un changement du groupe a été refusé parce qu'il ne respecte pas les règles du groupe." }).waitFor();
  assert.equal(await page.locator("ul.members li", { hasText: "intrus" }).count(), 0);
  await eventually("warning announced", async () => (await live(page)).startsWith("Dans le groupe : Attention : un changement du groupe est refusé"));
  // Still on the group's real epoch: it reads and writes as before.
  await camille.sendText(groupKey(id), "Le groupe continue.");
  await bubble(page, "Le groupe continue.").waitFor();
  await page.getByLabel("Votre message").fill("Je suis toujours là.");
  await page.getByRole("button", { name: "Envoyer" }).click();
  await eventually("camille reads it", async () => (await f.groupMessages(camille, id)).some((m) => m.text === "Je suis toujours là."));
  assert.equal(await f.epoch(camille, id), epoch);
  await expectAccessible(page, "groupe avec un avertissement", { dark: false, reflow: false });
});

test("a commit sent as a message is unreadable and changes nothing; a renaming Update is refused, in words (c2)", async (t) => {
  const { web, double, camille, alex, id } = await group(t);
  const { page } = web;
  const epoch = await f.epoch(camille, id);
  const members = page.locator("ul.members > li > .person");
  const before = await members.allTextContents();
  // Alex, a plain member, seats a ghost with a commit sent as an ordinary message, then proposes an
  // Update naming alex "camille"; the double puts them in place of alex's next two messages.
  const ghost = await f.newGhost();
  const { commit } = await f.forgeGhostCommit(alex, id, ghost, "public");
  const update = await f.forgeUpdate(alex, id, { handle: "camille" });
  let step = 0;
  double.rewrite = (d) => {
    if (step >= 2 || d.kind !== proto.DeliveryKind.APPLICATION || d.senderDevice !== alex.account.deviceId) return d;
    step += 1;
    return step === 1 ? { ...d, payload: commit } : { ...d, kind: proto.DeliveryKind.PROPOSAL, epoch, payload: update };
  };
  await alex.sendText(groupKey(id), "Remplacé par un commit.");
  await alex.sendText(groupKey(id), "Remplacé par une proposition.");
  const refused =
    "Attention : un changement proposé pour le groupe est refusé. Il ne respecte pas les règles du groupe. Il donne à alex le nom d'un autre compte. Un membre garde toujours son nom dans un groupe. Il n'est pas pris en compte.";
  await ev(page, refused).waitFor();
  double.rewrite = (d) => d;
  assert.equal(step, 2);
  assert.equal(await page.locator("ol.messages li.msg:not(.event) .text.muted", { hasText: exactly("Ce message n'a pas pu être lu.") }).count(), 1);
  assert.deepEqual(await members.allTextContents(), before);
  assert.equal(await page.locator("ul.members li", { hasText: "fantome" }).count(), 0);
  // The group goes on at its epoch: camille's next message is read.
  await camille.sendText(groupKey(id), "Toujours le même groupe.");
  await bubble(page, "Toujours le même groupe.").waitFor();
  assert.equal(await f.epoch(camille, id), epoch);
  await page.getByRole("button", { name: "English" }).click();
  await ev(page, "Warning: a proposed change to the group was refused because it breaks the group's rules. It gives alex the name of another account. A member always keeps their name inside a group. It is ignored.").waitFor();
  await page.getByRole("button", { name: "Français" }).click();
  await ev(page, refused).waitFor();
  await expectAccessible(page, "groupe avec un changement proposé refusé", { dark: false, reflow: false });
});

test("entries erased while the browser was offline do not stall it (d)", async (t) => {
  const { web, camille, alex, id } = await group(t);
  const { page, context } = web;
  await context.setOffline(true);
  await page.locator(".conn-text", { hasText: "Pas d'internet sur cet appareil." }).waitFor();
  await alex.sendText(groupKey(id), "Effacé avant le retour du navigateur.");
  await eventually("sent", async () => (await f.groupMessages(alex, id)).some((m) => m.text === "Effacé avant le retour du navigateur." && m.status === "sent"));
  const [gone] = (await f.groupMessages(alex, id)).filter((m) => m.text === "Effacé avant le retour du navigateur.");
  await f.deleteEntry(camille, id, gone.seq);
  await alex.sendText(groupKey(id), "Après l'effacement.");
  await eventually("sent", async () => (await f.groupMessages(alex, id)).some((m) => m.text === "Après l'effacement." && m.status === "sent"));
  const [last] = (await f.groupMessages(alex, id)).filter((m) => m.text === "Après l'effacement.");
  await context.setOffline(false);
  await page.locator(".conn-text", { hasText: "Connecté." }).waitFor({ timeout: 20_000 });
  await bubble(page, "Après l'effacement.").waitFor();
  assert.equal(await bubble(page, "Effacé avant le retour du navigateur.").count(), 0);
  // The watermark went past the erased entry and the later ones: nothing is waiting.
  const processed = await page.evaluate(
    (conv) =>
      new Promise((resolve) => {
        const open = indexedDB.open("cercle", 1);
        open.onsuccess = () => {
          const get = open.result.transaction("convs").objectStore("convs").get(conv);
          get.onsuccess = () => {
            resolve(get.result.processed);
            open.result.close();
          };
        };
      }),
    id,
  );
  assert.ok(processed >= last.seq, `watermark ${processed} reached ${last.seq}`);
  // A reload shows every message once.
  await page.reload();
  await page.getByRole("heading", { level: 1, name: /Groupe de parole avec/ }).waitFor();
  await page.locator(".conn-text", { hasText: "Connecté." }).waitFor();
  await new Promise((r) => setTimeout(r, 500));
  const texts = await shownTexts(page);
  assert.equal(texts.filter((t) => t === "Après l'effacement.").length, 1);
  assert.equal(new Set(texts).size, texts.length);
});

test("a professional on the web client reads the charter, accepts the invitation and joins, marked for everyone", async (t) => {
  const { server, double, web, camille, id, spareCodes } = await group(t, { spare: 1 });
  const pro = await personFor(t, browser, { viewport: { width: 1024, height: 800 } });
  const { page } = pro;
  await registerInPage(page, double.url, "dr.web", spareCodes[0]);
  // An admin makes the account a professional's; at its next sign-in the page publishes key
  // packages that say so (the relay refuses a professional's package that does not).
  server.admin("account", "set-type", "dr.web", "professional");
  await page.reload();
  await page.locator(".conn-text", { hasText: "Connecté." }).waitFor();
  const signed = await eventually("invited", () => f.invite(camille, id, "dr.web", { professional: true, accompanying: "sam" }).catch(() => null));
  const link = page.getByRole("link", { name: "Invitations (1)" });
  await link.waitFor();
  await link.click();
  await page.getByRole("heading", { level: 2, name: "Invitations à un groupe de parole" }).waitFor();
  const item = page.locator("ul.invitations li");
  await item.getByRole("heading", { level: 3, name: "Invitation de camille" }).waitFor();
  await item.getByText("Cette invitation est pour vous, comme personne professionnelle. Vous venez pour accompagner sam.").waitFor();
  await item.getByText("Ce qui se dit ici reste ici.").waitFor();
  await expectAccessible(page, "invitation à un groupe", { dark: false, reflow: false });
  await page.getByRole("button", { name: "J'accepte la charte du groupe de camille" }).click();
  await page.getByText("Invitation acceptée. L'animation va vous ajouter au groupe.").waitFor();
  await link.waitFor({ state: "hidden" });
  await ev(web.page, "dr.web a accepté l'invitation.").waitFor();
  await f.add(camille, id, "dr.web", signed);
  await page.getByRole("link", { name: "Conversations", exact: true }).click();
  await page.getByRole("link", { name: /Groupe de parole avec/ }).click();
  const me = page.locator("ul.members > li > .person", { hasText: "dr.web" });
  await me.waitFor();
  assert.equal((await me.textContent()).trim(), "dr.web (vous) personne professionnelle invitée, accompagne sam");
  await page.getByLabel("Votre message").fill("Bonjour, je suis la professionnelle qui accompagne Sam.");
  await page.getByRole("button", { name: "Envoyer" }).click();
  await bubble(page, "Bonjour, je suis la professionnelle qui accompagne Sam.").locator(".tag.pro").waitFor();
  const seen = bubble(web.page, "Bonjour, je suis la professionnelle qui accompagne Sam.");
  await seen.waitFor();
  assert.equal(await seen.locator(".tag.pro").textContent(), "personne professionnelle");
  await ev(web.page, "dr.web, une personne professionnelle, a rejoint le groupe.").waitFor();
  await expectAccessible(page, "groupe vu par une professionnelle", { dark: false, reflow: false });
  assert.deepEqual(pro.problems, []);
});

test("in a group with a delay for objections, a member objects to a professional's invitation", async (t) => {
  const { web, camille, people, id } = await group(t, { pros: ["dr.autre"] });
  const drAutre = people["dr.autre"];
  const { page } = web;
  await f.setRules(camille, id, (p) => (p.objectionHours = 48));
  await eventually("rules known", async () => (await ev(page, "L'animation a changé les règles du groupe.").count()) >= 1);
  const signed = await eventually("invited", () => f.invite(camille, id, "dr.autre", { professional: true }).catch(() => null));
  await ev(page, "camille a invité dr.autre, une personne professionnelle.").waitFor();
  const object = page.getByRole("button", { name: "Je m'oppose à l'invitation de dr.autre" });
  await object.waitFor();
  await expectAccessible(page, "invitation avec opposition possible", { dark: false, reflow: false });
  await object.click();
  await ev(page, "Un membre s'oppose à l'invitation de dr.autre.").waitFor();
  await object.waitFor({ state: "detached" });
  await page.getByText("Votre opposition est envoyée au groupe.").waitFor();
  // The relay keeps the professional out: the facilitator's client cannot add them.
  const [pending] = await eventually("dr.autre has it", () => drAutre.invitations().length === 1 && drAutre.invitations());
  await drAutre.acceptInvitation(pending.id);
  await assert.rejects(f.add(camille, id, "dr.autre", signed), /objected/);
});

test("the group's retention deletes the copies older than it, on the page and in IndexedDB", async (t) => {
  const { server, web, camille, id } = await group(t);
  const { page } = web;
  await page.getByLabel("Votre message").fill("Bonjour à toutes et à tous.");
  await page.getByRole("button", { name: "Envoyer" }).click();
  await bubble(page, "Bonjour à toutes et à tous.").waitFor();
  const changes = await ev(page, "L'animation a changé les règles du groupe.").count();
  await f.setRules(camille, id, (p) => (p.retentionDays = 1));
  await eventually("the change is shown", async () => (await ev(page, "L'animation a changé les règles du groupe.").count()) === changes + 1);
  await rulesButton(page).click();
  await page.locator("details.rules p", { hasText: exactly("Les messages sont effacés après 1 jour, aussi sur cet appareil.") }).waitFor();
  assert.ok((await shownTexts(page)).includes("Bonjour à toutes et à tous."));
  // A day later for the relay and for the device (the relay's clock alone prunes nothing: attacks-core).
  server.admin("clock", "advance", "25");
  await page.clock.setSystemTime(Date.now() + 25 * 3_600_000);
  await camille.sendText(groupKey(id), "Un jour plus tard.");
  await bubble(page, "Un jour plus tard.").waitFor();
  await eventually("older messages gone from the page", async () => JSON.stringify(await shownTexts(page)) === JSON.stringify(["Un jour plus tard."]));
  assert.deepEqual(await eventTexts(page), []);
  await eventually("and from IndexedDB", async () => JSON.stringify(await storedGroupTexts(page)) === JSON.stringify(["Un jour plus tard."]));
  await expectAccessible(page, "groupe après la durée de conservation", { dark: false, reflow: false });
});
