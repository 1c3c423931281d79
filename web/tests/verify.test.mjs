// Devices and verification in Chromium (issue 11, defect 4): the browser user (sam) talks with
// camille (the client core under node). The conversation lists both people with their devices (from
// the MLS leaves), their codes on demand; the "Vérifier" screen shows the safety number both sides
// compute, and is usable from the keyboard; once confirmed, the person is marked verified (kept in
// IndexedDB with the devices it stands for). When camille gets a new device, the page announces it
// in the conversation and through the live region, and camille is "à vérifier de nouveau" until
// verified again. axe-core on these screens, light and dark, French and English. Each test has its
// own relay, browser context and accounts (the fixture below): any test runs alone or in any order.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { facilitator as f, MemoryStore, Messenger } from "../build-node/core.mjs";
import { eventually, exactly, expectAccessible, horizontalOverflow, launchBrowser, personFor, registerInPage, serverFor, storedRecords } from "./support.mjs";

let browser;
const PASSPHRASE = "une phrase secrète assez longue";

/** A node client for one test, stopped when it ends. */
async function node(t, server) {
  const m = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "cercle-test-verify", keyPackageStock: 3 });
  t.after(() => m.stop());
  return m;
}

const ev = (page, text) => page.locator("ol.messages li.msg.event p.text", { hasText: exactly(text) });
const member = (page, handle) => page.locator("ul.members > li", { has: page.locator(".who", { hasText: exactly(handle) }) });
const live = (page) => page.locator("main [aria-live=polite]").textContent();

/** The verification records the page keeps in IndexedDB. */
async function storedVerifications(page) {
  const all = await storedRecords(page, "kv", "verified/");
  return all.map((v) => ({ handle: v.handle, number: v.number, theirKeys: v.theirKeys.length, ownKeys: v.ownKeys.length }));
}

/** Tabs until the focused element is `locator`'s (at most `max` presses). */
async function tabTo(page, locator, max = 60) {
  const target = await locator.elementHandle();
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate((el) => document.activeElement === el, target)) return;
  }
  assert.fail("not reached with Tab");
}

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/**
 * sam in Chromium and camille under node (her backup made first: restored, it becomes her second
 * device); camille writes "Bonjour sam" and sam's page shows the conversation with both people.
 */
async function conversation(t) {
  const server = await serverFor(t, { registration: "invite-code", codes: 2 });
  const web = await personFor(t, browser, { viewport: { width: 1024, height: 800 } });
  await registerInPage(web.page, server.url, "sam", server.codes[0]);
  const camille = await node(t, server);
  await camille.register("camille", { code: server.codes[1] });
  assert.ok(await camille.waitOnline(10_000));
  const camilleBackup = await camille.exportBackup(PASSPHRASE);
  await camille.sendText("sam", "Bonjour sam");
  const { page } = web;
  await page.getByRole("link", { name: /camille/ }).first().click();
  await page.locator("ol.messages li.msg .text", { hasText: "Bonjour sam" }).waitFor();
  await eventually("two people", async () => (await page.locator("ul.members > li").count()) === 2);
  return { server, web, camille, camilleBackup };
}

test("the conversation shows each person's devices, and the Vérifier screen works from the keyboard", async (t) => {
  const { web, camille } = await conversation(t);
  const { page, problems } = web;
  await page.getByRole("heading", { level: 2, name: "Personnes de la conversation" }).waitFor();
  for (const who of ["camille", "sam"]) {
    assert.equal(await member(page, who).locator(".devices-count").textContent(), "1 appareil");
  }
  assert.equal(await member(page, "camille").locator(".tag.verified, .tag.reverify").count(), 0);
  // The device codes open on demand, from the keyboard.
  const summary = member(page, "camille").locator("summary");
  await tabTo(page, summary);
  await page.keyboard.press("Enter");
  const codes = await member(page, "camille").locator("details.devices li").allTextContents();
  assert.equal(codes.length, 1);
  assert.match(codes[0], /^Appareil \d{5} \d{5} \d{5}$/);
  await expectAccessible(page, "personnes avec leurs appareils", { dark: false, reflow: false });

  // To the Vérifier screen with Tab and Enter: the number is the one camille's client computes.
  const link = page.getByRole("link", { name: "Vérifier camille", exact: true });
  await tabTo(page, link);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "Vérifier camille" }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), "H1");
  const expected = camille.safetyNumber("sam", "sam");
  const groups = await page.locator("ol.safety-number li").allTextContents();
  assert.equal(groups.join(" "), expected.number);
  assert.equal(groups.length, 12);
  await page.getByText("Vous n'avez pas encore vérifié camille.").waitFor();
  assert.deepEqual(await page.locator("ul li", { hasText: /^Appareil / }).allTextContents(), [...expected.ownDevices, ...expected.devices].map((c) => `Appareil ${c}`));
  await expectAccessible(page, "vérifier", { dark: false, reflow: false });
  await page.emulateMedia({ colorScheme: "dark" });
  await expectAccessible(page, "vérifier (sombre)", { dark: false, reflow: false });
  await page.emulateMedia({ colorScheme: "light" });
  for (const width of [360, 320]) {
    await page.setViewportSize({ width, height: 740 });
    assert.ok((await horizontalOverflow(page)) <= 0, `horizontal scrolling at ${width} px`);
  }
  await page.setViewportSize({ width: 1024, height: 800 });
  await page.getByRole("button", { name: "English" }).click();
  await page.getByRole("heading", { level: 1, name: "Verify camille" }).waitFor();
  await page.getByText("You have not verified camille yet.").waitFor();
  await expectAccessible(page, "verify (English)", { dark: false, reflow: false });
  await page.getByRole("button", { name: "Français" }).click();
  await page.getByRole("heading", { level: 1, name: "Vérifier camille" }).waitFor();

  // Confirming, from the keyboard.
  await tabTo(page, page.getByRole("button", { name: "Les chiffres sont les mêmes" }));
  await page.keyboard.press("Enter");
  await page.getByRole("status").filter({ hasText: "C'est fait. La vérification de camille est faite." }).waitFor();
  await page.getByText("Vous avez vérifié camille.").waitFor();
  assert.deepEqual(await storedVerifications(page), [{ handle: "camille", number: expected.number, theirKeys: 1, ownKeys: 1 }]);
  await page.getByRole("link", { name: "Retour à la conversation" }).click();
  await member(page, "camille").locator(".tag.verified", { hasText: "vérification faite" }).waitFor();
  assert.equal(await member(page, "sam").locator(".tag.verified").count(), 0);
  assert.deepEqual(problems, []);
});

test("a new device of a verified person is announced, and they are to verify again", async (t) => {
  const { server, web, camille, camilleBackup } = await conversation(t);
  const { page, problems } = web;
  // sam has verified camille's one device.
  await member(page, "camille").locator("summary").click();
  const [camilleCode] = await member(page, "camille").locator("details.devices li").allTextContents();
  await page.getByRole("link", { name: "Vérifier camille", exact: true }).click();
  await page.getByRole("button", { name: "Les chiffres sont les mêmes" }).click();
  await page.getByText("Vous avez vérifié camille.").waitFor();
  await page.getByRole("link", { name: "Retour à la conversation" }).click();
  await member(page, "camille").locator(".tag.verified").waitFor();
  // camille gets a second device (a backup restored elsewhere), which her client adds to the
  // conversation.
  const camille2 = await node(t, server);
  await camille2.importBackup(camilleBackup, PASSPHRASE);
  assert.ok(await camille2.waitOnline(10_000));
  const id = f.directId(camille, "sam");
  await eventually("camille's second device added", () => f.addDevices(camille, id, "camille", [camille2.account.deviceId]).then(() => true).catch(() => false));

  await eventually("two devices shown", async () => (await member(page, "camille").locator(".devices-count").textContent()) === "2 appareils");
  const codes = await member(page, "camille").locator("details.devices li").allTextContents();
  assert.equal(codes.length, 2);
  const fresh = camille.safetyNumber("sam", "sam");
  const newCode = codes.find((c) => c !== camilleCode).replace("Appareil ", "");
  assert.ok(fresh.ownDevices.includes(newCode));
  const said = `camille a un nouvel appareil. Code de l'appareil : ${newCode}. Vous aviez vérifié camille. Vérifiez camille de nouveau.`;
  await ev(page, said).waitFor();
  await eventually("announced", async () => (await live(page)) === said);
  await member(page, "camille").locator(".tag.reverify", { hasText: "à vérifier de nouveau" }).waitFor();
  await expectAccessible(page, "à vérifier de nouveau", { dark: false, reflow: false });
  await page.emulateMedia({ colorScheme: "dark" });
  await expectAccessible(page, "à vérifier de nouveau (sombre)", { dark: false, reflow: false });
  await page.emulateMedia({ colorScheme: "light" });

  await page.getByRole("link", { name: "Vérifier camille de nouveau" }).click();
  await page.getByText("Les appareils ont changé depuis votre vérification. Vérifiez camille de nouveau.").waitFor();
  assert.equal((await page.locator("ol.safety-number li").allTextContents()).join(" "), fresh.number);
  await page.getByRole("button", { name: "Les chiffres sont les mêmes" }).click();
  await page.getByText("Vous avez vérifié camille.").waitFor();
  assert.deepEqual(await storedVerifications(page), [{ handle: "camille", number: fresh.number, theirKeys: 2, ownKeys: 1 }]);
  await page.getByRole("link", { name: "Retour à la conversation" }).click();
  await member(page, "camille").locator(".tag.verified").waitFor();
  assert.deepEqual(problems, []);
});
