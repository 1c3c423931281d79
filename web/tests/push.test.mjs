// Issue 15 items 2 and 3, the browser's side: the service worker (public/sw.js), given a push through
// the DevTools protocol (ServiceWorker.deliverPushMessage) as the push service would hand it over,
// shows only "Nouveau message" with the app's icon; it names the other person or the group only
// after the person chose it on this device; a malformed push shows the neutral words; during a pause
// only the neutral words, silently; a click opens the conversation. And the "Notifications" screen
// (ui/notifications.ts): the words when the instance sends no pushes, axe light and dark at 360 px.
// Chromium at 360 px, French, against the real relay; a node core (camille) writes to the page's
// person (dana) and puts her in a named group.
import assert from "node:assert/strict";
import { test } from "node:test";
import { facilitator as f, MemoryStore, Messenger } from "../build-node/core.mjs";
import { ASSOCIATION, chromiumForFile, eventually, expectAccessible, exactly, focused, personFor, PHONE, registerInPage, serverFor, storedRecords } from "./support.mjs";

const browser = chromiumForFile();

async function core(t, server, handle) {
  const m = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "cercle-test-push", keyPackageStock: 3 });
  t.after(() => m.stop());
  await m.register(handle);
  assert.ok(await m.waitOnline(10_000));
  return m;
}

/** A conversation id as the relay's push names it: base64url without padding. */
const base64url = (hex) => Buffer.from(hex, "hex").toString("base64url");

/** The notifications shown now, as the page reads them from the worker's registration. */
function shown(page) {
  return page.evaluate(async () => {
    const reg = await navigator.serviceWorker.ready;
    return (await reg.getNotifications()).map((n) => ({ title: n.title, body: n.body, icon: n.icon, tag: n.tag, silent: n.silent, route: n.data?.route }));
  });
}

/**
 * dana in the page (notifications allowed by the browser), camille writing to her directly and
 * having put her in the group "Les Lucioles". Returns `push(data)`: hands `data` to the worker as a
 * push and resolves with the one notification it shows (after closing any shown before).
 */
async function danaWithConversations(t) {
  const server = await serverFor(t, { registration: "open", association: ASSOCIATION });  // Its page gives push its contact: on.
  const person = await personFor(t, browser(), PHONE);
  const { page, context } = person;
  await context.grantPermissions(["notifications"], { origin: server.url });
  await registerInPage(page, server.url, "dana");
  const camille = await core(t, server, "camille");
  await eventually("camille opens a conversation", () => camille.startConversation("dana").catch(() => null), 30_000);
  await camille.sendText("dana", "Bonjour Dana");
  await eventually("the group is created", () => f.fac(camille).createGroup({ name: "Les Lucioles" }, ["dana"]).catch(() => null), 30_000);
  const ids = await eventually("dana's device keeps both conversations", async () => {
    const convs = await storedRecords(page, "convs");
    const direct = convs.find((c) => !c.group && c.peer === "camille" && c.ready);
    const group = convs.find((c) => c.group && c.profile?.name === "Les Lucioles");
    return direct && group ? { direct: direct.id, group: group.id } : null;
  }, 30_000);
  await eventually("the service worker is in charge", () => page.evaluate(() => !!navigator.serviceWorker.controller));
  const cdp = await context.newCDPSession(page);
  t.after(() => cdp.detach().catch(() => {}));
  const registrations = [];
  cdp.on("ServiceWorker.workerRegistrationUpdated", (e) => registrations.push(...e.registrations.filter((r) => !r.isDeleted)));
  await cdp.send("ServiceWorker.enable");
  const registrationId = await eventually("the worker's registration", () => registrations.find((r) => r.scopeURL === `${server.url}/`)?.registrationId);
  const push = async (data) => {
    await page.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications()).forEach((n) => n.close()));
    assert.deepEqual(await shown(page), [], "none left before the push");
    await cdp.send("ServiceWorker.deliverPushMessage", { origin: server.url, registrationId, data });
    const now = await eventually(`a notification for ${data}`, async () => ((await shown(page)).length > 0 ? shown(page) : null));
    assert.equal(now.length, 1, "one notification per push");
    return now[0];
  };
  return { server, page, context, camille, ids, push };
}

/** The device's choices as the notifications screen keeps them (kv "notifications", core/push.ts). */
function setChoices(page, choices) {
  return page.evaluate(
    (value) =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open("cercle", 1);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const tx = open.result.transaction("kv", "readwrite");
          tx.objectStore("kv").put(value, "notifications");
          tx.oncomplete = () => resolve(open.result.close());
          tx.onerror = () => reject(tx.error);
        };
      }),
    { on: true, showSender: false, showGroup: false, lang: "fr", ...choices },
  );
}

/** Ticks or unticks the two names on the notifications screen (reached from "Mon compte"), as the person would. */
async function choose(page, { sender, group }) {
  await page.getByRole("link", { name: "Mon compte", exact: true }).click();
  await page.getByRole("link", { name: "Notifications sur cet appareil" }).click();
  const boxes = [
    [page.getByRole("checkbox", { name: "Montrer le pseudonyme de la personne qui écrit (conversation à deux)" }), sender],
    [page.getByRole("checkbox", { name: "Montrer le nom du groupe" }), group],
  ];
  for (const [box, on] of boxes) await box.setChecked(on);
  await eventually("the choices are kept on this device", async () => {
    const [kept] = await storedRecords(page, "kv", "notifications");
    return kept?.showSender === sender && kept?.showGroup === group;
  });
}

const message = (id) => JSON.stringify({ kind: "message", conversation: base64url(id) });
const seance = (id) => JSON.stringify({ kind: "seance", conversation: base64url(id) });

test("by default a push shows only 'Nouveau message' with the app's icon; malformed pushes the same", async (t) => {
  const { server, page, ids, push } = await danaWithConversations(t);
  const icon = `${server.url}/icons/icon-192.png`;
  const neutral = (tag, route) => ({ title: "Nouveau message", body: "", icon, tag, silent: false, route });
  assert.deepEqual(await push(message(ids.direct)), neutral(`cercle-${ids.direct}`, "#/t/camille"));
  assert.deepEqual(await push(message(ids.group)), neutral(`cercle-${ids.group}`, `#/g/${ids.group}`));
  assert.deepEqual(await push(seance(ids.group)), neutral(`cercle-${ids.group}`, `#/g/${ids.group}`));
  assert.deepEqual(await push(JSON.stringify({ kind: "invitation" })), neutral("cercle-invitation", "#/"));
  // Turned on, but nothing chosen: still no name.
  await setChoices(page, {});
  assert.deepEqual(await push(message(ids.direct)), neutral(`cercle-${ids.direct}`, "#/t/camille"));
  // Anything that is not what the relay sends: the neutral words (the browser needs one per push).
  assert.deepEqual(await push(message("00112233445566778899aabbccddeeff")), neutral("cercle-00112233445566778899aabbccddeeff", "#/"), "a conversation this device does not keep");
  for (const bad of ["pas du JSON", "{}", '{"kind":"autre","conversation":"AAEC"}', '{"kind":"message","conversation":"%%%"}', '{"kind":"message"}', "null", '"message"']) {
    assert.deepEqual(await push(bad), neutral("cercle", "#/"), bad);
  }
});

test("the pseudonym or the group's name only after the person chose it on this device; during a pause, neutral and silent", async (t) => {
  const { server, page, ids, push } = await danaWithConversations(t);
  const icon = `${server.url}/icons/icon-192.png`;
  const named = (title, tag, route, silent = false) => ({ title, body: "", icon, tag, silent, route });
  await choose(page, { sender: true, group: false });
  assert.deepEqual(await push(message(ids.direct)), named("Message de camille", `cercle-${ids.direct}`, "#/t/camille"));
  assert.deepEqual(await push(message(ids.group)), named("Nouveau message", `cercle-${ids.group}`, `#/g/${ids.group}`), "the group's name was not chosen");
  await choose(page, { sender: false, group: true });
  assert.deepEqual(await push(message(ids.direct)), named("Nouveau message", `cercle-${ids.direct}`, "#/t/camille"), "the pseudonym was not chosen");
  assert.deepEqual(await push(message(ids.group)), named("Nouveau message dans Les Lucioles", `cercle-${ids.group}`, `#/g/${ids.group}`));
  assert.deepEqual(await push(seance(ids.group)), named("Les Lucioles : la séance commence", `cercle-${ids.group}`, `#/g/${ids.group}`));
  await page.getByRole("button", { name: "Read this page in English" }).click();
  await page.getByRole("checkbox", { name: "Show the pseudonym of the person writing (one-to-one conversation)" }).check();
  await page.getByText(exactly("Your choice is saved.")).waitFor();
  assert.deepEqual(await push(message(ids.direct)), named("Message from camille", `cercle-${ids.direct}`, "#/t/camille"));
  assert.deepEqual(await push(message(ids.group)), named("New message in Les Lucioles", `cercle-${ids.group}`, `#/g/${ids.group}`));
  await page.getByRole("button", { name: "Lire cette page en français" }).click();
  await choose(page, { sender: true, group: true });

  // A pause (Sécurité): whatever was chosen, the neutral words, without sound.
  await page.getByRole("link", { name: "Sécurité" }).click();
  await page.getByLabel("1 jour").check();
  await page.getByRole("button", { name: "Commencer la pause" }).click();
  await page.locator("header .pause-banner").getByText(/^Pause en cours jusqu'à .+\.$/).waitFor();
  assert.deepEqual(await push(message(ids.direct)), named("Nouveau message", `cercle-${ids.direct}`, "#/t/camille", true));
  assert.deepEqual(await push(seance(ids.group)), named("Nouveau message", `cercle-${ids.group}`, `#/g/${ids.group}`, true));
  await page.locator("header .pause-banner").getByRole("button", { name: "Arrêter la pause" }).click();
  assert.deepEqual(await push(message(ids.direct)), named("Message de camille", `cercle-${ids.direct}`, "#/t/camille"), "named again after the pause");
});

test("a click on a notification opens its conversation in the open window", async (t) => {
  const { context, page, ids, push } = await danaWithConversations(t);
  await setChoices(page, { showGroup: true });
  await push(message(ids.group));
  const [worker] = context.serviceWorkers();
  assert.ok(worker, "the worker runs");
  // The browser's click, as the worker receives it (the page cannot click a system notification).
  await worker.evaluate(async () => {
    const [notification] = await self.registration.getNotifications();
    self.dispatchEvent(new NotificationEvent("notificationclick", { notification }));
  }).catch(() => {});  // waitUntil refuses an event the worker made itself; the work is under way.
  await page.getByRole("heading", { level: 1, name: "Les Lucioles" }).waitFor();
  assert.equal(new URL(page.url()).hash, `#/g/${ids.group}`);
  assert.deepEqual(await shown(page), [], "the notification is closed");
});

test("the notifications screen, reached from 'Mon compte', says in words when the instance sends no pushes", async (t) => {
  const server = await serverFor(t, { registration: "open" });
  const { page } = await personFor(t, browser(), PHONE);
  await registerInPage(page, server.url, "dana");
  await page.getByRole("link", { name: "Mon compte", exact: true }).click();
  await page.getByRole("link", { name: "Notifications sur cet appareil" }).click();
  await page.getByRole("heading", { level: 1, name: "Notifications" }).waitFor();
  await page.getByText(exactly("Ce service Cercle n'envoie pas de notifications. Ouvrez Cercle pour voir vos messages.")).waitFor();
  assert.equal(await page.locator("section.notifications button, section.notifications input").count(), 0, "no switch that does nothing");
  assert.ok(await focused(page.getByRole("heading", { level: 1, name: "Notifications" })));
  await expectAccessible(page, "notifications, instance without push", { names: true });
});

/** Tabs until the focused element is `locator`'s (at most `max` presses). */
async function tabTo(page, locator, max = 40) {
  const target = await locator.elementHandle();
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate((el) => document.activeElement === el, target)) return;
  }
  assert.fail("not reached with Tab");
}

test("with push on the instance: permission asked only after the click, the names opt-in with the risk said, keyboard only, axe light and dark, English", async (t) => {
  const server = await serverFor(t, { registration: "open", association: ASSOCIATION });  // Its page gives push its contact: on.
  const { page, context } = await personFor(t, browser(), PHONE);
  await registerInPage(page, server.url, "dana");
  await tabTo(page, page.getByRole("link", { name: "Mon compte", exact: true }));
  await page.keyboard.press("Enter");
  await tabTo(page, page.getByRole("link", { name: "Notifications sur cet appareil" }));
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "Notifications" }).waitFor();
  await page.getByText(exactly("Les notifications sont désactivées sur cet appareil.")).waitFor();
  await page.getByText(exactly("Le navigateur va vous demander votre accord.")).waitFor();
  assert.equal(await page.evaluate(() => Notification.permission), "default", "nothing asked before the click");
  await page.getByText(exactly("Une notification dit seulement « Nouveau message ». Elle ne dit pas qui écrit, ni dans quel groupe. Elle ne montre jamais le texte du message.")).waitFor();
  await expectAccessible(page, "notifications, off", { names: true });

  // The two names, each unticked, each read with the risk.
  const sender = page.getByRole("checkbox", { name: "Montrer le pseudonyme de la personne qui écrit (conversation à deux)" });
  const group = page.getByRole("checkbox", { name: "Montrer le nom du groupe" });
  for (const box of [sender, group]) {
    assert.equal(await box.isChecked(), false);
    assert.equal(await box.evaluate((el) => document.getElementById(el.getAttribute("aria-describedby")).textContent), "Attention : quelqu'un qui voit votre écran pourra lire ce nom.");
  }
  await tabTo(page, group);
  await page.keyboard.press("Space");
  await page.locator("section.notifications p[role=status]", { hasText: exactly("Votre choix est enregistré.") }).waitFor();
  assert.deepEqual(await storedRecords(page, "kv", "notifications"), [{ on: false, showSender: false, showGroup: true, lang: "fr" }]);

  // Turned on: the browser is asked (headless Chromium declines), then, allowed, it cannot subscribe
  // in a private profile: said in words, still off, nothing kept as on.
  const turnOn = page.getByRole("button", { name: "Activer les notifications" });
  await tabTo(page, turnOn);
  await page.keyboard.press("Enter");
  const status = page.locator("section.notifications p[role=status]");
  await status.getByText(exactly("Ce navigateur bloque les notifications de Cercle. Pour les recevoir, autorisez-les dans les réglages du navigateur.")).waitFor();
  await context.grantPermissions(["notifications"], { origin: server.url });
  await turnOn.focus();
  await page.keyboard.press("Enter");
  await status.getByText(exactly("Les notifications n'ont pas pu être activées sur ce navigateur. Réessayez plus tard.")).waitFor();
  await page.getByText(exactly("Les notifications sont désactivées sur cet appareil.")).waitFor();
  assert.deepEqual(await storedRecords(page, "kv", "notifications"), [{ on: false, showSender: false, showGroup: true, lang: "fr" }]);
  await expectAccessible(page, "notifications, after a failure", { names: true });

  await page.getByRole("button", { name: "Read this page in English" }).click();
  await page.getByRole("heading", { level: 1, name: "Notifications" }).waitFor();
  await page.getByRole("checkbox", { name: "Show the pseudonym of the person writing (one-to-one conversation)" }).check();
  await page.locator("section.notifications p[role=status]", { hasText: exactly("Your choice is saved.") }).waitFor();
  assert.deepEqual(await storedRecords(page, "kv", "notifications"), [{ on: false, showSender: true, showGroup: true, lang: "en" }]);
  await page.getByText(exactly("Careful: someone who sees your screen will be able to read this name.")).waitFor();
  await expectAccessible(page, "notifications, English", { names: true });
});
