// A facilitator's séance with the keyboard alone (Chromium, 360 px, French, real relay; no pointer
// event on camille's page after signing up): create a group that meets in séances, plan a weekly
// séance on the admin screen, go back to the group, open the séance, hear sam's raised hand in the
// bar's polite region, give sam the floor, take it back, close the séance, remove the planned one.
// Sam (pointer allowed) lives in Martinique: the planned séance shows at sam's hour; sam hears the
// floor given in an alert and taken back in the polite region. Every focus is visible; axe-core at
// each step, light and dark. CERCLE_SCREENSHOTS=<dir> keeps two pictures for the facilitators'
// guide: the planning form with the séance planned, and the bar as sam reads it.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { seanceSchedule, seanceWhen } from "../build-node/core.mjs";
import { eventually, expectAccessible, launchBrowser, personFor, PHONE, registerInPage, serverFor } from "./support.mjs";

let browser;
const SHOTS = process.env.CERCLE_SCREENSHOTS;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/** The focused element: tag, label (its label, aria-label or text) and whether an outline shows it. */
function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    // Titles take the focus from the script when a screen opens (tabindex=-1), never from Tab.
    if (!el || el === document.body || el.getAttribute("tabindex") === "-1") return null;
    const style = getComputedStyle(el);
    const label = el.getAttribute("aria-label") ?? el.labels?.[0]?.textContent ?? el.textContent ?? "";
    // Past its last part, a date field's Tab stops on its calendar button, which Chromium rings itself.
    const picker = (el.type === "date" || el.type === "time") && !el.matches(":focus");
    return { tag: el.tagName.toLowerCase(), label: label.trim(), visible: picker || (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2) };
  });
}

/** Presses Tab until the focused element is a `tag` whose label starts with `label` (at most 80 presses). */
async function tabTo(page, tag, label) {
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press("Tab");
    const f = await focused(page);
    if (!f) continue;
    assert.ok(f.visible, `focus is not visible on <${f.tag}> "${f.label}"`);
    if (f.tag === tag && f.label.startsWith(label)) return;
  }
  assert.fail(`could not reach <${tag}> "${label}" with Tab`);
}

async function press(page, tag, label, key = "Enter") {
  await tabTo(page, tag, label);
  await page.keyboard.press(key);
}

const bar = (page) => page.locator("section.seance-bar");
const state = (page) => bar(page).locator("p.seance-state");
const polite = (page, text) => page.locator("section.seance-bar [aria-live=polite]", { hasText: text }).waitFor({ state: "attached" });
const alertSaid = (page, text) => page.locator("section.seance-bar [role=alert]", { hasText: text }).waitFor({ state: "attached" });

/** "2026-12-08" in Paris, `days` days from now. */
function parisDay(days) {
  const w = seanceSchedule.wallTime("Europe/Paris", Date.now() + days * 86_400_000);
  return [w.year, w.month, w.day].map((n, i) => String(n).padStart(i ? 2 : 4, "0")).join("-");
}

test("a facilitator plans, opens, leads and closes a séance with the keyboard alone", async (t) => {
  const server = await serverFor(t, { registration: "invite-code", codes: 2 });
  const camille = await personFor(t, browser, { ...PHONE, timezoneId: "Europe/Paris" });
  const sam = await personFor(t, browser, { ...PHONE, timezoneId: "America/Martinique" });
  await registerInPage(sam.page, server.url, "sam", server.codes[1]);
  const page = camille.page;
  await page.addInitScript(() => {
    for (const type of ["mousedown", "pointerdown", "click"]) {
      window.addEventListener(type, (e) => void (e.isTrusted && e.detail > 0 && (document.documentElement.dataset.pointer = "used")), true);
    }
  });
  await registerInPage(page, server.url, "camille", server.codes[0]);
  await page.evaluate(() => delete document.documentElement.dataset.pointer);  // Signing up used the pointer; from here, none.

  // A group that meets in séances, one person at a time.
  await press(page, "a", "Créer un groupe");
  await page.getByRole("heading", { level: 1, name: "Créer un groupe de parole" }).waitFor();
  await tabTo(page, "input", "Nom du groupe");
  await page.keyboard.type("Le Jeudi");
  await tabTo(page, "input", "Pseudonymes des personnes");
  await page.keyboard.type("sam");
  await press(page, "input", "Le groupe se réunit en séances", "Space");
  await press(page, "input", "Une personne à la fois", "Space");
  await press(page, "button", "Créer le groupe");
  await page.getByRole("heading", { level: 1, name: "Gérer le groupe Le Jeudi" }).waitFor({ timeout: 30_000 });
  const id = /#\/ga\/([0-9a-f]+)/.exec(page.url())[1];

  // A weekly séance, eight days from now at 18:30 (Paris), for 1 h 30 (the length offered first).
  const day = parisDay(8);
  await tabTo(page, "input", "Jour");
  // The field's parts follow Chromium's own language (day first in French, month first in English).
  await page.keyboard.type(day.slice(8, 10) + day.slice(5, 7) + day.slice(0, 4));
  if ((await page.locator("[name=plan-date]").inputValue()) !== day) {
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.type(day.slice(5, 7) + day.slice(8, 10) + day.slice(0, 4));
  }
  await tabTo(page, "input", "Heure");
  await page.keyboard.type("1830");
  await press(page, "input", "Chaque semaine", "Space");
  assert.deepEqual(await page.evaluate(() => [...document.querySelectorAll("[name=plan-date], [name=plan-hour], [name=plan-length]")].map((e) => e.value)), [day, "18:30", "90"]);
  await press(page, "button", "Prévoir la séance");
  await page.locator(".group-admin p.notice[role=status]", { hasText: "La séance est prévue." }).waitFor({ timeout: 20_000 });
  const slot = seanceSchedule.slotFrom("Europe/Paris", day, "18:30", 90, true);
  const inParis = seanceWhen.slotWords(slot, "Europe/Paris", { zone: "Europe/Paris", lang: "fr", nowMs: Date.now() });
  assert.match(inParis, /^Chaque \p{L}+ à 18\u00a0h\u00a030, pendant 1\u00a0h\u00a030\.$/u);
  await page.locator(".seance-planned li", { hasText: inParis }).getByRole("button", { name: `Retirer : ${inParis}` }).waitFor();
  await expectAccessible(page, "gérer le groupe : séance prévue");
  if (SHOTS) await page.locator("form[aria-labelledby=admin-plan]").evaluate((f) => f.parentElement.scrollIntoView());
  if (SHOTS) await page.screenshot({ path: join(SHOTS, "seance-prevoir.png") });

  // Sam, in Martinique, reads it at sam's own hour.
  await sam.page.goto(`${server.url}/#/g/${id}`);
  await eventually("the group reaches sam", async () => (await bar(sam.page).count()) > 0 || (await sam.page.reload(), false), 30_000);
  const samLines = seanceWhen.scheduleLines([slot], "Europe/Paris", { zone: "America/Martinique", lang: "fr", nowMs: Date.now() });
  assert.match(samLines[1], /^Chaque \p{L}+ à 1[23]\u00a0h\u00a030, pendant 1\u00a0h\u00a030\.$/u);
  await eventually("sam reads the planned séance", async () => JSON.stringify(await bar(sam.page).locator(".seance-plan p").allTextContents()) === JSON.stringify(samLines), 20_000);
  await expectAccessible(sam.page, "la séance prévue, vue de Martinique");
  if (SHOTS) await bar(sam.page).screenshot({ path: join(SHOTS, "seance-prevue-membre.png") });

  // Back to the group; the séance is opened.
  await press(page, "a", "Retour aux messages du groupe");
  await page.getByRole("heading", { level: 1, name: "Le Jeudi" }).waitFor();
  await bar(page).locator(".seance-plan p", { hasText: /^Prochaine séance : / }).waitFor();
  await press(page, "button", "Ouvrir la séance");
  await bar(page).getByText(/^Séance ouverte depuis/).waitFor();
  await polite(sam.page, "La séance commence.");
  await expectAccessible(page, "séance ouverte (animatrice)");

  // Sam confirms the charter and raises a hand: camille hears it.
  await bar(sam.page).getByRole("button", { name: "J'ai lu la charte, je la respecte" }).click();
  await bar(sam.page).getByRole("button", { name: "Lever la main" }).click();
  await polite(page, "sam lève la main.");
  await bar(page).getByText("Mains levées : sam.").waitFor();
  await expectAccessible(page, "une main levée (animatrice)");

  await press(page, "button", "Donner la parole à sam");
  await alertSaid(sam.page, "La parole est à vous.");
  await polite(page, "La parole est à sam.");
  await expectAccessible(page, "la parole à sam (animatrice)");

  await press(page, "button", "Reprendre la parole");
  await polite(sam.page, "Vous n'avez plus la parole.");
  await polite(page, "Tout le monde peut écrire.");

  await press(page, "button", "Fermer la séance");
  await bar(page).getByText("Pas de séance en ce moment.").waitFor();
  await polite(sam.page, "La séance est finie.");
  await expectAccessible(page, "séance fermée (animatrice)");

  // The planned séance is removed: sam no longer reads it.
  await press(page, "a", "Gérer le groupe");
  await page.getByRole("heading", { level: 1, name: "Gérer le groupe Le Jeudi" }).waitFor();
  await press(page, "button", `Retirer : ${inParis}`);
  await page.locator(".group-admin p.notice[role=status]", { hasText: "La séance est retirée." }).waitFor({ timeout: 20_000 });
  await page.locator(".seance-planned p", { hasText: "Aucune séance n'est prévue." }).waitFor();
  await eventually("sam no longer reads a planned séance", async () => (await bar(sam.page).locator(".seance-plan").count()) === 0, 20_000);
  await state(sam.page).getByText("Pas de séance en ce moment.").waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.pointer ?? "none"), "none", "no pointer event on the facilitator's page");
});
