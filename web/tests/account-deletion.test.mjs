// Deleting one's account from the account page (issue 14 point 7), in Debian's Chromium at 360 px
// against the real relay: two steps, the first saying exactly what happens; the page leaves each
// group (a facilitator's client carries it out, so the others see the person leave), deletes the
// account on the relay and erases IndexedDB; the pseudonym is gone from the relay and the account
// cannot sign in again. The only facilitator of a group is told why it cannot be done yet, and
// nothing is sent. axe-core on each new state, French and English; keyboard only.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { facilitator as f, groupKey, MemoryStore, Messenger } from "../build-node/core.mjs";
import { eventually, exactly, expectAccessible, focused, launchBrowser, personFor, PHONE, registerInPage, serverFor, toEnglish, toFrench } from "./support.mjs";

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/** A node client (the same core as the page), signed in, stopped when the test ends. */
async function core(t, server, handle, store = new MemoryStore()) {
  const m = await Messenger.load({ url: server.ws, store, clientName: "cercle-test-account-deletion", keyPackageStock: 3 });
  t.after(() => m.stop());
  if (!m.account) await m.register(handle);
  else m.start();
  return m;
}

/** How many records each IndexedDB table of the page holds. */
function storedCounts(page) {
  return page.evaluate(
    () =>
      new Promise((resolve) => {
        const open = indexedDB.open("cercle");
        open.onsuccess = () => {
          const db = open.result;
          const names = [...db.objectStoreNames];
          const tx = db.transaction(names);
          const out = {};
          for (const n of names) tx.objectStore(n).count().onsuccess = (e) => (out[n] = e.target.result);
          tx.oncomplete = () => resolve(out);
        };
      }),
  );
}

/** dana in the page at 360 px, in camille's group with alex (all three read it). */
async function danaInGroup(t) {
  const server = await serverFor(t, { registration: "open" });
  const person = await personFor(t, browser, PHONE);
  await registerInPage(person.page, server.url, "dana");
  const camille = await core(t, server, "camille");
  const alex = await core(t, server, "alex");
  assert.ok(await camille.waitOnline(10_000));
  const id = await eventually("group created", () => f.createGroup(camille, { charter: "Ce qui se dit ici reste ici." }, ["dana", "alex"]).catch(() => null), 30_000);
  await person.page.getByRole("link", { name: /Groupe de parole avec camille, alex/ }).click();
  await person.page.locator("ol.messages li.msg.event .text", { hasText: "Vous avez rejoint le groupe." }).waitFor();
  return { server, person, page: person.page, camille, alex, id };
}

/** The member list's line saying `handle` leads the group. */
const leads = (page, handle) =>
  page.locator("li.member", { has: page.locator(".who", { hasText: exactly(handle) }) }).locator(".role", { hasText: "animateur ou animatrice" });

const deleteButton = (page) => page.getByRole("button", { name: "Supprimer mon compte" });

test("deleting one's account: two steps saying what happens; the group sees the person leave; IndexedDB is empty; the account is gone", async (t) => {
  const { server, page, camille, alex, id } = await danaInGroup(t);
  await page.getByRole("link", { name: "Mon compte" }).click();
  await page.getByRole("heading", { level: 2, name: "Supprimer mon compte" }).waitFor();
  await page.getByText(exactly("Vous ne voulez plus utiliser Cercle ? Vous pouvez supprimer votre compte.")).waitFor();
  // Step 1: what happens, read first; "Non" goes back.
  await deleteButton(page).focus();
  await deleteButton(page).press("Enter");
  const question = page.locator(".confirm");
  assert.ok(await focused(question), "the explanation is read first");
  assert.equal(await question.locator("p").innerText(), "Voici ce qui se passe si vous supprimez votre compte :");
  assert.deepEqual(await question.locator("li").allTextContents(), [
    "Vous quittez chaque groupe. Les personnes du groupe voient que vous partez.",
    "Personne ne peut plus vous écrire. Le pseudonyme dana ne pourra plus servir.",
    "Vos liens de contact ne marchent plus.",
    "Cet appareil efface tout ce qu'il garde pour Cercle : vos messages et vos clés.",
    "Les autres personnes gardent leur copie des messages que vous avez envoyés.",
    "On ne peut pas revenir en arrière. Une sauvegarde ne ramène pas le compte.",
  ]);
  await expectAccessible(page, "supprimer le compte, étape 1", { names: true });
  await page.getByRole("button", { name: "Non, garder mon compte" }).press("Enter");
  assert.ok(await focused(deleteButton(page)), "back on the button");
  await toEnglish(page);
  await page.getByRole("button", { name: "Delete my account" }).press("Enter");
  await page.getByText(exactly("This is what happens if you delete your account:")).waitFor();
  await page.getByText(exactly("Nobody can write to you any more. The pseudonym dana cannot be used again.")).waitFor();
  await page.getByRole("button", { name: "Continue" }).press("Enter");
  await page.getByText(exactly("Last question: delete the account dana for ever?")).waitFor();
  await expectAccessible(page, "delete the account, step 2 (English)");
  await page.getByRole("button", { name: "No, keep my account" }).press("Enter");
  await toFrench(page);
  // Step 2, then done.
  await deleteButton(page).press("Enter");
  await page.getByRole("button", { name: "Continuer" }).press("Enter");
  const last = page.locator(".confirm", { hasText: exactly("Dernière question : supprimer le compte dana pour toujours ?") });
  await last.waitFor();
  assert.ok(await focused(last));
  await expectAccessible(page, "supprimer le compte, étape 2");
  await page.getByRole("button", { name: "Oui, supprimer mon compte" }).press("Enter");
  await page.getByRole("heading", { level: 1, name: "Cercle" }).waitFor();
  await page.getByText(exactly("Votre compte est supprimé. Cet appareil ne garde plus rien de Cercle.")).waitFor();
  assert.equal(await page.getByRole("navigation", { name: "Menu" }).count(), 0, "no account's menu");
  await expectAccessible(page, "compte supprimé");
  assert.deepEqual(await storedCounts(page), { convs: 0, groups: 0, keypackages: 0, kv: 0, messages: 0 });
  // The group sees dana leave: camille's client carries out her request.
  await eventually("dana asked to leave", async () => (await f.leaving(camille, id)).length === 1, 20_000);
  await f.commitLeaving(camille, id);
  await eventually("alex sees dana leave", () => {
    const roster = alex.groupView(groupKey(id))?.roster.map((r) => r.handle) ?? [];
    return roster.includes("camille") && !roster.includes("dana");
  });
  // The relay no longer knows the pseudonym, and it cannot be taken again.
  await assert.rejects(alex.lookup("dana"), (e) => e.code === 16);
  const again = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "cercle-test-account-deletion" });
  await assert.rejects(again.register("dana"), (e) => e.code === 12);
  await page.reload();
  await page.getByRole("heading", { level: 1, name: "Cercle" }).waitFor();
});

test("a deleted account cannot sign in again with the keys it had (same core as the page)", async (t) => {
  const server = await serverFor(t, { registration: "open" });
  const eve = await core(t, server, "eve");
  assert.ok(await eve.waitOnline(10_000));
  // What eve's device holds before: its keys, as a copy of the store.
  const copy = new MemoryStore();
  for (const [table, rows] of f.storeOf(eve).tables) for (const [key, value] of rows) await copy.write([{ table, key, value }]);
  await eve.deleteAccount("eve");
  assert.equal(eve.account, undefined);
  const ghost = await core(t, server, "eve", copy);
  // The relay refuses its signature (AUTH_FAILED): the client waits its longest before trying again.
  await eventually("refused at sign-in", () => ghost.state === "offline" && ghost.retryAt - Date.now() > 15_000, 20_000);
  assert.notEqual(ghost.state, "online");
});

test("the only facilitator of a group cannot delete their account yet: told why, nothing sent (7)", async (t) => {
  const { page, camille, id } = await danaInGroup(t);
  await f.setRules(camille, id, (p) => p.roles.push({ ...p.roles.find((r) => r.handle === "camille"), handle: "dana" }));
  await f.setRules(camille, id, (p) => (p.roles = p.roles.filter((r) => r.handle !== "camille")));
  await leads(page, "dana").waitFor({ state: "attached" });
  await leads(page, "camille").waitFor({ state: "detached" });
  await page.getByRole("link", { name: "Mon compte" }).click();
  await deleteButton(page).press("Enter");
  const why = page.locator(".confirm");
  await why.waitFor();
  assert.deepEqual(await why.locator("p").allTextContents(), [
    "Vous êtes la seule personne qui anime ces groupes : Groupe de parole avec alex, camille. Un groupe a toujours besoin d'une personne qui l'anime.",
    "Avant de supprimer votre compte, donnez le rôle d'animation à une autre personne dans chaque groupe. Demandez de l'aide à l'association.",
  ]);
  assert.ok(await focused(why), "the reason is read first");
  assert.equal(await page.getByRole("button", { name: /Continuer|Oui, supprimer/ }).count(), 0, "nothing to confirm");
  await expectAccessible(page, "seule personne qui anime : pas de suppression");
  await page.getByRole("button", { name: "J'ai compris" }).press("Enter");
  assert.ok(await focused(deleteButton(page)));
  await toEnglish(page);
  await page.getByRole("button", { name: "Delete my account" }).press("Enter");
  await page.getByText(exactly("You are the only facilitator of these groups: Talk group with alex, camille. A group always needs a facilitator.")).waitFor();
  await expectAccessible(page, "only facilitator: no deletion (English)");
  // Nothing was sent: no request to leave, and the account still signs in.
  assert.deepEqual(await f.leaving(camille, id), []);
  await page.reload();
  await page.locator(".conn-text", { hasText: "Connected." }).waitFor();
});
