// Interoperability: the web client in Chromium and a ts-mls client under node (WebCrypto of node,
// in-memory storage) in one direct conversation, messages both ways, with each side creating the
// MLS group once. (The same against the C++ `cercle` CLI: interop-cli.test.mjs.) Each test has its
// own relay, browser context and accounts: any test runs alone or in any order.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { MemoryStore, Messenger } from "../build-node/core.mjs";
import { eventually, launchBrowser, personFor, registerInPage, serverFor } from "./support.mjs";

let browser;

const bubble = (page, text) => page.locator("ol.messages li.msg .text", { hasText: text });

async function nodeClient(t, server, handle, code) {
  const m = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "cercle-node-interop" });
  t.after(() => m.stop());
  await m.register(handle, { code });
  assert.ok(await m.waitOnline(10_000));
  return m;
}

/** A relay for the test and the helper "web.aidant" signed in with Chromium; one code left. */
async function webHelper(t) {
  const server = await serverFor(t, { registration: "invite-code", codes: 2 });
  const web = await personFor(t, browser, { viewport: { width: 1024, height: 800 } });
  await registerInPage(web.page, server.url, "web.aidant", server.codes[0]);
  return { server, web };
}

const received = async (m, peer) => (await m.messages(peer)).filter((x) => !x.mine).map((x) => x.text);

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

test("the relay serves the build: gzip twins, client routes, strict CSP", async (t) => {
  const server = await serverFor(t, { registration: "invite-code" });
  const res = await fetch(`${server.url}/c/un-jeton`, { headers: { "accept-encoding": "gzip" } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-encoding"), "gzip");
  assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'self'/);
  assert.match(await res.text(), /<div id="app">/);
});

test("node creates the group, Chromium joins: messages both ways", async (t) => {
  const { server, web } = await webHelper(t);
  const n = await nodeClient(t, server, "node.visiteur", server.codes[1]);
  // The web helper's key packages are uploaded once it is online.
  await eventually("node opens the conversation", () => n.startConversation("web.aidant").catch(() => null));
  await n.sendText("web.aidant", "Bonjour depuis node.");
  const { page } = web;
  const thread = page.getByRole("link", { name: /node\.visiteur.*1 nouveau message/ });
  await thread.waitFor();
  await thread.click();
  await bubble(page, "Bonjour depuis node.").waitFor();
  await page.getByLabel("Votre message").fill("Bonjour depuis Chromium.");
  await page.getByRole("button", { name: "Envoyer" }).click();
  await eventually("node receives", async () => (await received(n, "web.aidant")).includes("Bonjour depuis Chromium."));
  await n.sendText("web.aidant", "Encore un, après le message de Chromium.");
  await bubble(page, "Encore un, après le message de Chromium.").waitFor();
});

test("Chromium starts a conversation with a handle, node joins: messages both ways", async (t) => {
  const { server, web } = await webHelper(t);
  const n = await nodeClient(t, server, "node.pair", server.codes[1]);
  const { page } = web;
  await page.getByRole("link", { name: "Conversations", exact: true }).click();
  await page.getByLabel("Pseudonyme de la personne").fill("personne.inconnue");
  await page.getByRole("button", { name: "Ouvrir la conversation" }).click();
  await page.getByText("Personne n'a ce pseudonyme.").waitFor();
  await page.getByLabel("Pseudonyme de la personne").fill("node.pair");
  await page.getByRole("button", { name: "Ouvrir la conversation" }).click();
  await page.getByRole("heading", { level: 1, name: "Conversation avec node.pair" }).waitFor();
  await page.getByLabel("Votre message").fill("Bonjour node, ici Chromium.");
  await page.getByRole("button", { name: "Envoyer" }).click();
  await eventually("node joins and reads", async () => (await received(n, "web.aidant")).includes("Bonjour node, ici Chromium."));
  assert.equal(n.threads()[0].peer, "web.aidant");
  await n.sendText("web.aidant", "Bien reçu dans node.");
  await bubble(page, "Bien reçu dans node.").waitFor();
});
