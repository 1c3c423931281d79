// Interoperability: the web client in Chromium and a ts-mls client under node (WebCrypto of node,
// in-memory storage) in one direct conversation, messages both ways, with each side creating the
// MLS group once. (The same against the C++ `cercle` CLI: interop-cli.test.mjs.)
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { MemoryStore, Messenger } from "../build-node/core.mjs";
import { eventually, launchBrowser, newPerson, startServer } from "./support.mjs";

let server;
let browser;
let web;     // The helper, in Chromium.
const nodes = [];

const bubble = (page, text) => page.locator("ol.messages li.msg .text", { hasText: text });

async function nodeClient(handle, code) {
  const m = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "cercle-node-interop" });
  await m.register(handle, { code });
  assert.ok(await m.waitOnline(10_000));
  nodes.push(m);
  return m;
}

const received = async (m, peer) => (await m.messages(peer)).filter((x) => !x.mine).map((x) => x.text);

before(async () => {
  server = await startServer({ registration: "invite-code", codes: 3 });
  browser = await launchBrowser();
  web = await newPerson(browser, { viewport: { width: 1024, height: 800 } });
  await web.page.goto(`${server.url}/`);
  await web.page.getByLabel("Pseudonyme").fill("web.aidant");
  await web.page.getByLabel("Code d'inscription").fill(server.codes[0]);
  await web.page.getByRole("button", { name: "Créer mon compte" }).click();
  await web.page.locator(".conn-text", { hasText: "Connecté." }).waitFor();
});

after(async () => {
  for (const m of nodes) m.stop();
  await browser?.close();
  await server?.stop();
});

test("the relay serves the build: gzip twins, client routes, strict CSP", async () => {
  const res = await fetch(`${server.url}/c/un-jeton`, { headers: { "accept-encoding": "gzip" } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-encoding"), "gzip");
  assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'self'/);
  assert.match(await res.text(), /<div id="app">/);
});

test("node creates the group, Chromium joins: messages both ways", async () => {
  const n = await nodeClient("node.visiteur", server.codes[1]);
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

test("Chromium starts a conversation with a handle, node joins: messages both ways", async () => {
  const n = await nodeClient("node.pair", server.codes[2]);
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
