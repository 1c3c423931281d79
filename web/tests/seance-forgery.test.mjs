// A lying relay forges séance events, and every browser refuses them (Chromium, 360 px, French, the
// real relay behind the relay double, relay-double.mjs). Camille leads the group and sam is a member
// (both node clients, straight to the relay); alex and zoe are members in their own browser context,
// through the double. The double turns one of camille's messages to the browsers into a séance event:
// an opening by a plain member, an opening in camille's name with sam's key, then (the séance truly
// open) a closing with a bad signature, the floor given to zoe by sam and in camille's name with
// sam's key, and (the floor truly alex's) the floor taken back by sam. Each time, after a round trip
// (a later message of camille's shown), each page tells the true state, the forged one nowhere, the
// refusal as a warning line, and the boxes open or closed as the true state says.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { create, facilitator as f, groupKey, MemoryStore, Messenger, proto, seance as s, toBinary } from "../build-node/core.mjs";
import { startRelayDouble } from "./relay-double.mjs";
import { eventually, expectAccessible, launchBrowser, personFor, PHONE, registerInPage, serverFor } from "./support.mjs";

const IGNORED = "Attention : une information du groupe n'a pas pu être lue.";
const OUTSIDE = "La séance n'est pas ouverte. Vous pourrez écrire quand elle commence.";
let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

async function nodePerson(t, server, handle, code) {
  const m = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "cercle-test-forgery", keyPackageStock: 4 });
  t.after(() => m.stop());
  await m.register(handle, { code });
  assert.ok(await m.waitOnline(10_000));
  return m;
}

const bar = (page) => page.locator("section.seance-bar");
const state = (page) => bar(page).locator("p.seance-state");
const closedBox = (page) => page.locator("p.warning-inline.closed");
const composer = (page) => page.locator("form.composer");
const bubble = (page, text) => page.locator("ol.messages p.text", { hasText: text });
const ignoredLines = (page) => page.locator("ol.messages li.msg.event p.text", { hasText: IGNORED }).count();

test("séance events forged by the relay are refused by every browser", async (t) => {
  const server = await serverFor(t, { registration: "invite-code", codes: 4 });
  const double = await startRelayDouble(server);
  t.after(() => double.stop());
  const camille = await nodePerson(t, server, "camille", server.codes[0]);
  const sam = await nodePerson(t, server, "sam", server.codes[1]);
  const pages = [];
  for (const [handle, code] of [["alex", server.codes[2]], ["zoe", server.codes[3]]]) {
    const p = await personFor(t, browser, PHONE);
    await registerInPage(p.page, double.url, handle, code);
    pages.push(p.page);
  }
  const [alex, zoe] = pages;
  const rules = { charter: "", seances: { writeOnlyInSeance: true, turnTaking: true } };
  const id = await eventually("the group is created", () => f.createGroup(camille, rules, ["sam", "alex", "zoe"]).catch(() => null), 30_000);
  for (const page of pages) {
    await page.goto(`${double.url}/#/g/${id}`);
    await eventually("the group reaches the browser", async () => (await state(page).count()) > 0 || (await page.reload(), false), 30_000);
    await state(page).getByText("Pas de séance en ce moment.").waitFor();
    await closedBox(page).getByText(OUTSIDE).waitFor();
  }

  /** Sam's view of the séance so far (the browsers hold the same). */
  const head = () => f.convsOf(sam).get(id).seance ?? { head: "", openId: "" };
  const forged = (signer, author, kind) => {
    const event = create(proto.SeanceEventSchema, {
      conversationId: Buffer.from(id, "hex"),
      seanceId: kind.case === "opened" ? new Uint8Array(16).fill(9) : Buffer.from(head().openId, "hex"),
      previous: Buffer.from(head().head, "hex"),
      author,
      timeMs: BigInt(Date.now()),
      kind,
    });
    return s.signSeanceEvent(signer["ctx"].account.mlsKey, event);
  };
  const opening = () => ({ case: "opened", value: create(proto.SeanceOpenedSchema, { charterHash: s.charterHash("") }) });
  let round = 0;
  /** The double turns camille's next message into `signed` for both browsers; then a round trip. */
  async function handOver(signed) {
    const payload = toBinary(proto.GroupEventSchema, create(proto.GroupEventSchema, { kind: { case: "seance", value: await signed }, by: "camille" }));
    const before = await Promise.all(pages.map(ignoredLines));
    let seq = null;
    double.rewrite = (d) => {
      if (d.kind !== proto.DeliveryKind.APPLICATION || d.senderDevice !== camille.account.deviceId) return d;
      seq ??= d.seq;
      return d.seq === seq ? { ...d, kind: proto.DeliveryKind.EVENT, payload } : d;
    };
    round++;
    await camille.sendText(groupKey(id), `sonde ${round}`);
    for (const [i, page] of pages.entries()) await eventually("the browser refuses the forged event", async () => (await ignoredLines(page)) === before[i] + 1);
    double.rewrite = (d) => d;
    await camille.sendText(groupKey(id), `après ${round}`);
    for (const page of pages) await bubble(page, `après ${round}`).waitFor({ timeout: 20_000 });
    for (const page of pages) assert.equal(await bubble(page, `sonde ${round}`).count(), 0, "the forged delivery is no message");
  }
  const act = async (action) => {
    const before = head().head;
    await (await camille.seances()).act(id, action);
    await eventually("sam applies camille's event", () => head().head !== before);
  };

  // No séance: an opening by a plain member (sam's own name and key), then in camille's name with sam's key.
  await handOver(forged(sam, "sam", opening()));
  await handOver(forged(sam, "camille", opening()));
  for (const page of pages) {
    assert.equal(await state(page).textContent(), "Pas de séance en ce moment.");
    await closedBox(page).getByText(OUTSIDE).waitFor();
    assert.ok(await composer(page).isHidden(), "the box stays closed outside a séance");
  }

  // The séance truly open: a closing in camille's name with sam's key changes nothing; alex writes.
  await act({ case: "opened" });
  for (const page of pages) await state(page).getByText(/^Séance ouverte depuis .* Tout le monde peut écrire\.$/).waitFor();
  await handOver(forged(sam, "camille", { case: "closed", value: create(proto.SeanceClosedSchema) }));
  // The floor given to zoe by sam (not a facilitator), and in camille's name with sam's key.
  await handOver(forged(sam, "sam", { case: "floorGiven", value: "zoe" }));
  await handOver(forged(sam, "camille", { case: "floorGiven", value: "zoe" }));
  for (const page of pages) {
    assert.match(await state(page).textContent(), /^Séance ouverte depuis .* Tout le monde peut écrire\.$/);
    assert.ok(await composer(page).isVisible(), "everyone may write: the floor is nobody's");
  }
  await alex.locator("form.composer textarea").fill("Je peux encore écrire.");
  await composer(alex).getByRole("button", { name: "Envoyer" }).click();
  await bubble(zoe, "Je peux encore écrire.").waitFor({ timeout: 20_000 });

  // The floor truly alex's: sam taking it back is refused; zoe still may not write, alex still may.
  await act({ case: "floorGiven", handle: "alex" });
  await closedBox(zoe).getByText("La parole est à alex. Levez la main pour parler.").waitFor();
  await handOver(forged(sam, "sam", { case: "floorBack", value: create(proto.SeanceFloorBackSchema) }));
  await state(alex).getByText(/La parole est à vous\.$/).waitFor();
  await state(zoe).getByText(/La parole est à alex\.$/).waitFor();
  await closedBox(zoe).getByText("La parole est à alex. Levez la main pour parler.").waitFor();
  assert.ok(await composer(zoe).isHidden());
  await alex.locator("form.composer textarea").fill("J'ai toujours la parole.");
  await composer(alex).getByRole("button", { name: "Envoyer" }).click();
  await bubble(zoe, "J'ai toujours la parole.").waitFor({ timeout: 20_000 });
  await expectAccessible(zoe, "la séance après des événements forgés");
});
