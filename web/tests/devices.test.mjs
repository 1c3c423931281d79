// Pairing a new device in Chromium (issue 11, defect 4), against the real relay, keyboard only: a
// browser without an account chooses "Utiliser mon compte sur cet appareil", gives the pseudonym and
// shows the 6-digit code; the signed-in browser's "Mes appareils" lists its devices and the request;
// after choosing it, a wrong code is refused (nothing added), the right one adds the device, which
// then opens as a device of the account and lists both devices. axe-core on every screen (light and
// dark), no horizontal scrolling at 320 px, no CSP violation or page error.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { create, facilitator as f, MemoryStore, Messenger, proto } from "../build-node/core.mjs";
import { startRelayDouble } from "./relay-double.mjs";
import { expectAccessible, horizontalOverflow, launchBrowser, personFor, serverFor } from "./support.mjs";

let browser;

/** Tabs until the focused element is `locator`'s (at most `max` presses). */
async function tabTo(page, locator, max = 60) {
  const target = await locator.elementHandle();
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate((el) => document.activeElement === el, target)) return;
  }
  assert.fail("not reached with Tab");
}

async function noPointer(page) {
  await page.evaluate(() => {
    for (const type of ["pointerdown", "mousedown"]) {
      window.addEventListener(type, (e) => {
        if (e.isTrusted) throw new Error(`pointer used: ${type}`);
      }, true);
    }
  });
}

// Each test has its own relay and browser contexts: any test runs alone or in any order.
before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

test("a new browser joins the account after the code is typed on the signed-in one", async (t) => {
  const server = await serverFor(t, { registration: "open" });
  const old = await personFor(t, browser, { viewport: { width: 1024, height: 800 } });
  const fresh = await personFor(t, browser, { viewport: { width: 320, height: 700 } });
  const a = old.page;
  const b = fresh.page;

  // The signed-in browser: an account, then "Mes appareils".
  await a.goto(`${server.url}/`);
  await a.getByLabel("Pseudonyme").fill("Élise");
  await a.getByRole("button", { name: "Créer mon compte" }).click();
  await a.locator(".conn-text", { hasText: "Connecté." }).waitFor();
  await noPointer(a);
  await tabTo(a, a.getByRole("link", { name: "Mes appareils" }));
  await a.keyboard.press("Enter");
  await a.getByRole("heading", { level: 1, name: "Mes appareils" }).waitFor();
  const devices = a.locator("ul.devices > li");
  await devices.first().waitFor();
  assert.equal(await devices.count(), 1);
  assert.match(await devices.first().textContent(), /^Cet appareil, ajouté le .+, code \d{5} \d{5} \d{5}$/);
  await a.getByText("Aucune demande.").waitFor();
  await expectAccessible(a, "Mes appareils", { reflow: false });

  // The new browser: from the home page to the request, with the keyboard.
  await b.goto(`${server.url}/`);
  await noPointer(b);
  const join = b.getByRole("link", { name: "Utiliser mon compte sur cet appareil" });
  await join.waitFor();
  await expectAccessible(b, "accueil", { reflow: false });
  await tabTo(b, join);
  await b.keyboard.press("Enter");
  await b.getByRole("heading", { level: 1, name: "Utiliser mon compte sur cet appareil" }).waitFor();
  await expectAccessible(b, "utiliser mon compte", { reflow: false });
  // The pseudonym in another case: the relay checks the proof under the stored one; said in words.
  const handleInput = b.getByLabel("Votre pseudonyme");
  await tabTo(b, handleInput);
  await b.keyboard.type("élise");
  await b.keyboard.press("Enter");
  await b.getByText("Ce pseudonyme ne correspond pas. Écrivez-le exactement comme sur votre autre appareil, avec les majuscules.").waitFor();
  assert.equal(await b.getByLabel("Votre pseudonyme").getAttribute("aria-invalid"), "true");
  await expectAccessible(b, "pseudonyme qui ne correspond pas", { reflow: false });
  await b.getByLabel("Votre pseudonyme").focus();
  await b.keyboard.press("Control+A");
  await b.keyboard.type("Élise");
  await b.keyboard.press("Enter");
  await b.getByText("Sur votre autre appareil : ouvrez Cercle, puis « Mes appareils ». Choisissez la demande.").waitFor();
  await expectAccessible(b, "en attente de l'autre appareil", { reflow: false });

  // The request appears on the signed-in browser, without any name in it.
  const choose = a.getByRole("button", { name: /^C'est mon appareil : la demande de \d{2}:\d{2}$/ });
  await choose.waitFor({ timeout: 15_000 });
  assert.ok(!(await a.locator("ul.requests").textContent()).includes("Élise"));
  await expectAccessible(a, "une demande", { reflow: false });
  await tabTo(a, choose);
  await a.keyboard.press("Enter");

  // The new browser shows the code, big, and spoken digit by digit.
  const codeText = await b.locator(".pairing-code [aria-hidden=true]").textContent({ timeout: 15_000 });
  assert.match(codeText, /^\d{3} \d{3}$/);
  const spoken = await b.locator(".pairing-code .sr-only").textContent();
  assert.equal(spoken, `Le code est : ${codeText.replace(" ", "").split("").join(" ")}`);
  assert.equal(await b.evaluate(() => document.activeElement?.textContent), "Tapez ce code sur votre autre appareil");
  assert.ok((await horizontalOverflow(b)) <= 0, "no horizontal scrolling at 320 px");
  await expectAccessible(b, "le code", { reflow: false });

  // A wrong code is refused and adds nothing.
  const field = a.getByLabel("Code affiché sur le nouvel appareil");
  await field.waitFor();
  assert.equal(await a.evaluate(() => document.activeElement?.getAttribute("name")), "code");
  await expectAccessible(a, "taper le code", { reflow: false });
  const wrong = codeText.replace(/^\d/, (d) => String((Number(d) + 1) % 10));
  await a.keyboard.type(wrong);
  await a.keyboard.press("Enter");
  await a.getByText("Ce n'est pas le bon code. Rien n'a été ajouté. Encore 2 essai(s).").waitFor();
  assert.equal(await field.getAttribute("aria-invalid"), "true");
  await expectAccessible(a, "mauvais code", { reflow: false });
  assert.ok(await b.locator(".pairing-code").isVisible());  // Still waiting: not added.

  // The right code adds the device.
  await field.fill("");
  await a.keyboard.type(codeText);
  await a.keyboard.press("Enter");
  await a.getByText("Le nouvel appareil est ajouté.").waitFor();
  await a.locator("ul.devices > li").nth(1).waitFor();
  assert.match(await a.locator("ul.devices > li").nth(1).textContent(), /^Autre appareil, ajouté le /);

  // The new browser opens as a device of the account.
  await b.locator(".conn-text", { hasText: "Connecté." }).waitFor({ timeout: 20_000 });
  await tabTo(b, b.getByRole("link", { name: "Mes appareils" }));
  await b.keyboard.press("Enter");
  await b.locator("ul.devices > li").nth(1).waitFor();
  const seen = await b.locator("ul.devices > li strong").allTextContents();
  assert.deepEqual(seen, ["Autre appareil", "Cet appareil"]);
  await expectAccessible(b, "Mes appareils (nouvel appareil)", { reflow: false });
  assert.deepEqual(old.problems, []);
  assert.deepEqual(fresh.problems, []);
});

test("a person whose relay shows a device outside their chain: refused in words, nothing created", async (t) => {
  const server = await serverFor(t, { registration: "open" });
  const double = await startRelayDouble(server);
  const ines = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "cercle-test-devices", keyPackageStock: 3 });
  try {
    await ines.register("ines");
    assert.ok(await ines.waitOnline(10_000));
    const web = await personFor(t, browser, { viewport: { width: 1024, height: 800 } });
    const page = web.page;
    await page.goto(`${double.url}/`);
    await page.getByLabel("Pseudonyme").fill("noe");
    await page.getByRole("button", { name: "Créer mon compte" }).click();
    await page.locator(".conn-text", { hasText: "Connecté." }).waitFor();
    // The relay hands out a key package of "ines" whose key her chain does not list.
    const ghost = await f.newGhost("ines");
    double.rewriteResponse = (response) => {
      const r = response.result;
      if (r.case === "fetchKeyPackages" && r.value.account?.handle === "ines") {
        double.rewriteResponse = () => {};
        r.value.keyPackages.push(create(proto.FetchedKeyPackageSchema, { deviceId: 999n, data: ghost.stored.encoded }));
      }
    };
    const from = double.requests.length;
    await page.getByLabel("Pseudonyme de la personne").fill("ines");
    await page.getByLabel("Pseudonyme de la personne").press("Enter");
    await page.getByText("Cette personne a changé d'appareil sans le confirmer. Vérifiez avec elle avant de lui écrire.").waitFor();
    const sent = double.requests.slice(from);
    assert.ok(sent.includes("fetchKeyPackages"));
    assert.ok(!sent.includes("createConversation") && !sent.includes("commit"), sent.join(","));
    await expectAccessible(page, "appareil refusé", { reflow: false });
    assert.deepEqual(web.problems, []);
  } finally {
    ines.stop();
    await double.stop();
  }
});
