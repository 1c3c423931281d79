// The client core under node (the same code as the page, in-memory storage) against the real relay:
// contact link, registration through it, an MLS direct conversation both ways, catch-up without
// duplicates after a reconnect, senders named by their MLS credentials (not by the relay), backup and
// restore.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ErrorCode, facilitator as f, MemoryStore, Messenger, RelayError } from "../build-node/core.mjs";
import { eventually, startServer } from "./support.mjs";

let server;
const people = [];

async function person(opts = {}) {
  const m = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "cercle-test", ...opts });
  people.push(m);
  return m;
}

async function texts(m, peer) {
  return (await m.messages(peer)).sort((a, b) => a.time - b.time).map((x) => `${x.mine ? ">" : "<"}${x.text}`);
}

before(async () => {
  server = await startServer({ registration: "invite-code", codes: 3 });
});

after(async () => {
  for (const m of people) m.stop();
  await server?.stop();
});

test("registration needs a code, except through a contact link", async () => {
  const nobody = await person();
  const hello = await nobody.connectAnonymous();
  assert.equal(hello.contactLinkRegistration, true);
  await assert.rejects(nobody.register("sans_code"), (e) => e instanceof RelayError && e.code === ErrorCode.REGISTRATION_CODE_REQUIRED);
});

test("helper and visitor talk through a contact link, and catch up after a reconnect", async () => {
  const helper = await person();
  await helper.register("aidant.node", { code: server.codes[0] });
  assert.ok(await helper.waitOnline(10_000));
  const link = await helper.createContactLink("site", 0);
  assert.ok(link.token.length >= 16);

  const visitor = await person();
  const resolved = await visitor.resolveContactLink(link.token);
  assert.equal(resolved.owner.handle, "aidant.node");
  await visitor.register("visiteur.node", { contactToken: link.token });
  assert.ok(await visitor.waitOnline(10_000));
  // The helper's key packages are uploaded by its connection loop: wait until it has some.
  const peer = await eventually("conversation opened", () => visitor.startConversation("aidant.node").catch(() => null));
  assert.equal(peer, "aidant.node");
  await visitor.sendText(peer, "Bonjour, j'aimerais parler.");
  await eventually("helper receives", async () => (await texts(helper, "visiteur.node")).includes("<Bonjour, j'aimerais parler."));
  assert.equal(helper.threads()[0].unread, 1);
  await helper.sendText("visiteur.node", "Bonjour ! Je vous écoute.");
  await eventually("visitor receives", async () => (await texts(visitor, "aidant.node")).includes("<Bonjour ! Je vous écoute."));

  // The visitor drops off; the helper writes twice; the visitor comes back and catches up.
  visitor.stop();
  await helper.sendText("visiteur.node", "Message 1 pendant l'absence");
  await helper.sendText("visiteur.node", "Message 2 pendant l'absence");
  await eventually("helper's messages sent", async () => (await helper.messages("visiteur.node")).filter((m) => m.mine).every((m) => m.status === "sent"));
  const back = visitor;
  back.start();
  await eventually("catch-up", async () => (await texts(back, "aidant.node")).length === 4);
  // A second reconnect re-delivers nothing new and duplicates nothing.
  back.disconnect();
  await eventually("disconnected", async () => back.state === "offline");
  back.reconnectNow();
  assert.ok(await back.waitOnline(10_000));
  await new Promise((r) => setTimeout(r, 500));
  const expected = [
    ">Bonjour, j'aimerais parler.",
    "<Bonjour ! Je vous écoute.",
    "<Message 1 pendant l'absence",
    "<Message 2 pendant l'absence",
  ];
  assert.deepEqual(await texts(back, "aidant.node"), expected);

  // The whole log handed to the client again (as a catch-up from an old cursor would): every entry
  // is recognised by (conversation, seq) and nothing is shown twice.
  const [convId] = f.convsOf(back).keys();
  const wire = f.wireOf(back);
  const log = await wire.call({ case: "fetchLog", value: { conversationId: Buffer.from(convId, "hex"), afterSeq: 0n, limit: 100 } }, "log");
  assert.equal(log.entries.length, 5, "commit + 4 messages");
  await f.handBatch(back, wire, log.entries);
  assert.deepEqual(await texts(back, "aidant.node"), expected);
  assert.equal(back.threads()[0].unread, 3, "re-delivered entries are not counted as unread again");
});

test("a backup restores the account in another place, and the conversation goes on", async () => {
  const helper = await person();
  await helper.register("aidante.backup", { code: server.codes[1] });
  assert.ok(await helper.waitOnline(10_000));
  const link = await helper.createContactLink("", 24);
  const visitor = await person();
  await visitor.register("visiteur.backup", { contactToken: link.token });
  assert.ok(await visitor.waitOnline(10_000));
  await eventually("conversation opened", () => visitor.startConversation("aidante.backup").catch(() => null));
  await visitor.sendText("aidante.backup", "avant la sauvegarde");
  await eventually("helper receives", async () => (await texts(helper, "visiteur.backup")).includes("<avant la sauvegarde"));

  const file = await visitor.exportBackup("une phrase secrète assez longue");
  assert.ok(!file.includes("avant la sauvegarde"), "the backup file is encrypted");
  const restored = await person();
  await assert.rejects(restored.importBackup(file, "mauvaise phrase"), (e) => e.name === "Error" || e instanceof Error);
  await restored.importBackup(file, "une phrase secrète assez longue");
  assert.equal(restored.account.handle, "visiteur.backup");
  assert.ok(await restored.waitOnline(10_000));
  assert.deepEqual(await texts(restored, "aidante.backup"), [">avant la sauvegarde"]);
  await restored.sendText("aidante.backup", "après la restauration");
  await eventually("helper receives from the restored device", async () => (await texts(helper, "visiteur.backup")).includes("<après la restauration"));
  await helper.sendText("visiteur.backup", "bien reçu");
  await eventually("restored device receives", async () => (await texts(restored, "aidante.backup")).includes("<bien reçu"));
  // The original device is still the account's: the restored device added it to the new conversation.
  await eventually("original device receives too", async () => (await texts(visitor, "aidante.backup")).includes("<bien reçu"));
  assert.equal((await texts(visitor, "aidante.backup")).filter((x) => x === "<bien reçu").length, 1);
  // What the restored device wrote there shows as ours on the original device.
  await restored.sendText("aidante.backup", "écrit sur l'autre appareil");
  await eventually("own message from the other device", async () => (await texts(visitor, "aidante.backup")).includes(">écrit sur l'autre appareil"));
});

test("a message's sender is named by the MLS credential of its leaf, not by the relay's device list", async () => {
  const helper = await person();
  await helper.register("aidant.mls", { code: server.codes[2] });
  assert.ok(await helper.waitOnline(10_000));
  const link = await helper.createContactLink("", 24);
  const visitor = await person();
  await visitor.register("visiteur.mls", { contactToken: link.token });
  assert.ok(await visitor.waitOnline(10_000));

  // A relay that lies about who owns which device: in its answers to the helper, each member's device
  // is attributed to the other account (same accounts, so the Welcome's member check still passes).
  // Trusting that mapping would show the visitor's words as the helper's own, and the reverse.
  const wire = f.wireOf(helper);
  const call = wire.call.bind(wire);
  let lied = 0;
  wire.call = async (request, expect, ...rest) => {
    const answer = await call(request, expect, ...rest);
    if (request.case !== "getConversation") return answer;
    const handles = answer.members.map((m) => m.handle);
    if (new Set(handles).size !== 2) return answer;
    lied += 1;
    return { ...answer, members: answer.members.map((m) => ({ ...m, handle: handles.find((h) => h !== m.handle) })) };
  };

  await eventually("conversation opened", () => visitor.startConversation("aidant.mls").catch(() => null));
  await visitor.sendText("aidant.mls", "C'est moi, le visiteur, qui écris.");
  await eventually("helper receives", async () => (await helper.messages("visiteur.mls")).some((m) => m.text === "C'est moi, le visiteur, qui écris."));
  assert.ok(lied >= 1, "the helper asked the (lying) relay about the conversation");
  const [got] = (await helper.messages("visiteur.mls")).filter((m) => m.text === "C'est moi, le visiteur, qui écris.");
  assert.equal(got.sender, "visiteur.mls");
  assert.equal(got.mine, false);
  assert.equal(got.status, "received");
  assert.deepEqual(helper.threads().map((t) => [t.peer, t.unread]), [["visiteur.mls", 1]]);

  // And the other way: the creator names the helper's message from the helper's leaf too.
  await helper.sendText("visiteur.mls", "Et moi, l'aidant, je réponds.");
  await eventually("visitor receives", async () => (await visitor.messages("aidant.mls")).some((m) => m.text === "Et moi, l'aidant, je réponds."));
  const [answer] = (await visitor.messages("aidant.mls")).filter((m) => m.text === "Et moi, l'aidant, je réponds.");
  assert.equal(answer.sender, "aidant.mls");
  assert.equal(answer.mine, false);
});
