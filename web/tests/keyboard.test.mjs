// The whole visitor flow with the keyboard only (no pointer event at all): open the link, pick a
// pseudonym, write, read the answer. Every control reached shows a visible focus indicator.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { MemoryStore, Messenger } from "../build-node/core.mjs";
import { eventually, launchBrowser, personFor, serverFor } from "./support.mjs";

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/** Describes the focused element and whether its focus is visible (an outline is drawn). */
function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    const label = el.labels?.[0]?.textContent ?? el.getAttribute("aria-label") ?? el.textContent ?? "";
    return {
      tag: el.tagName.toLowerCase(),
      label: label.trim(),
      visible: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
    };
  });
}

/** Presses Tab until the focused element matches (at most 30 presses); checks focus is visible. */
async function tabTo(page, tag, label) {
  for (let i = 0; i < 30; i++) {
    await page.keyboard.press("Tab");
    const f = await focused(page);
    if (!f) continue;
    assert.ok(f.visible, `focus is not visible on <${f.tag}> "${f.label}"`);
    if (f.tag === tag && f.label.includes(label)) return;
  }
  assert.fail(`could not reach <${tag}> "${label}" with Tab`);
}

test("a visitor completes the whole flow with the keyboard only", async (t) => {
  const server = await serverFor(t, { registration: "invite-code", codes: 1 });
  const helper = await Messenger.load({ url: server.ws, store: new MemoryStore() });
  t.after(() => helper.stop());
  await helper.register("pair.aidant", { code: server.codes[0] });
  assert.ok(await helper.waitOnline(10_000));
  const link = await helper.createContactLink("clavier", 0);
  const { page } = await personFor(t, browser, { viewport: { width: 360, height: 740 } });
  // Any pointer event would be a failure of this test.
  await page.addInitScript(() => {
    for (const type of ["mousedown", "pointerdown", "click"]) {
      window.addEventListener(type, (e) => {
        if (e.isTrusted && e.detail > 0) document.documentElement.dataset.pointer = "used";
      }, true);
    }
  });
  await page.goto(`${server.url}/c/${link.token}`);
  await page.getByRole("heading", { level: 1, name: "Écrire à pair.aidant" }).waitFor();

  await tabTo(page, "input", "Choisissez un pseudonyme");
  await page.keyboard.type("dominique");
  await tabTo(page, "button", "Commencer");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "Conversation avec pair.aidant" }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), "H1", "focus moves to the new screen's title");

  await tabTo(page, "textarea", "Votre message");
  await page.keyboard.type("Bonjour, j'écris au clavier.");
  await tabTo(page, "button", "Envoyer");
  await page.keyboard.press("Enter");
  await page.locator("li.msg.mine .status", { hasText: "Envoyé" }).waitFor();

  // Ctrl+Enter sends from the message field too.
  await tabTo(page, "textarea", "Votre message");
  await page.keyboard.type("Et avec Ctrl + Entrée.");
  await page.keyboard.press("Control+Enter");
  await eventually("two messages sent", async () => (await page.locator("li.msg.mine .status", { hasText: "Envoyé" }).count()) === 2);

  await eventually("helper receives both", async () => (await helper.messages("dominique")).filter((m) => !m.mine).length === 2);
  await helper.sendText("dominique", "Bien reçu, merci.");
  await page.locator("ol.messages li.msg .text", { hasText: "Bien reçu, merci." }).waitFor();

  // The menu works from the keyboard as well.
  await tabTo(page, "a", "Mon compte");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "Mon compte" }).waitFor();

  assert.equal(await page.evaluate(() => document.documentElement.dataset.pointer ?? "none"), "none", "no pointer event happened");
});
