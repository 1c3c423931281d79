// Interoperability with the C++ client SDK (cercle::client, through web/interop/sdk_peer.cpp): the
// web client in Chromium and the C++ client in direct conversations, each side creating the MLS
// group once, messages both ways.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";
import { WEB, eventually, launchBrowser, newPerson, startServer, within } from "./support.mjs";

let server;
let browser;
let web;
const peers = [];

const bubble = (page, text) => page.locator("ol.messages li.msg .text", { hasText: text });

function peerBinary() {
  const candidates = [process.env.CERCLE_SDK_PEER, join(WEB, "../build/bin/cercle-web-interop-peer"), join(WEB, "../build-web/bin/cercle-web-interop-peer")];
  const found = candidates.find((p) => p && existsSync(p));
  if (!found) throw new Error("cercle-web-interop-peer not found: build it (cmake target), or set CERCLE_SDK_PEER");
  return found;
}

/** The C++ SDK in a child process: one command, one JSON answer. */
class SdkPeer {
  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), "cercle-sdk-peer-"));
    this.child = spawn(peerBinary(), [], { stdio: ["pipe", "pipe", "inherit"] });
    this.lines = createInterface({ input: this.child.stdout });
    this.waiting = [];
    this.lines.on("line", (line) => this.waiting.shift()?.(JSON.parse(line)));
    this.received = [];
    this.joined = [];
  }

  async cmd(line, ms = 20_000) {
    const answer = await within(ms, `sdk peer: ${line.split(" ")[0]}`, new Promise((resolve) => {
      this.waiting.push(resolve);
      this.child.stdin.write(`${line}\n`);
    }));
    if (!answer.ok) throw new Error(`sdk peer ${line.split(" ")[0]}: ${answer.error}`);
    return answer;
  }

  async poll() {
    const r = await this.cmd("poll 200");
    this.received.push(...r.messages.filter((m) => !m.own));
    this.joined.push(...r.joined);
    return r;
  }

  async stop() {
    this.child.stdin.end("quit\n");
    await within(10_000, "sdk peer exit", new Promise((r) => this.child.once("exit", r))).catch(() => this.child.kill("SIGKILL"));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function sdkPeer(handle, code) {
  const p = new SdkPeer();
  peers.push(p);
  await p.cmd(`open ${server.ws} ${p.dir}`);
  await p.cmd(`register ${handle} ${code}`);
  return p;
}

before(async () => {
  server = await startServer({ registration: "invite-code", codes: 3 });
  browser = await launchBrowser();
  web = await newPerson(browser, { viewport: { width: 1024, height: 800 } });
  await web.page.goto(`${server.url}/`);
  await web.page.getByLabel("Pseudonyme").fill("web.aidante");
  await web.page.getByLabel("Code d'inscription").fill(server.codes[0]);
  await web.page.getByRole("button", { name: "Créer mon compte" }).click();
  await web.page.locator(".conn-text", { hasText: "Connecté." }).waitFor();
});

after(async () => {
  for (const p of peers) await p.stop();
  await browser?.close();
  await server?.stop();
});

test("the C++ SDK starts a direct conversation with the web client: messages both ways", async () => {
  const cpp = await sdkPeer("cpp.visiteur", server.codes[1]);
  // The web client's key packages are on the relay once it is online.
  const { conversation } = await eventually("C++ opens the conversation", () => cpp.cmd("start web.aidante").catch(() => null));
  await cpp.cmd(`send ${conversation} Bonjour depuis le client C++.`);
  const { page } = web;
  const thread = page.getByRole("link", { name: /cpp\.visiteur.*1 nouveau message/ });
  await thread.waitFor();
  await thread.click();
  await bubble(page, "Bonjour depuis le client C++.").waitFor();
  await page.getByLabel("Votre message").fill("Bonjour C++, ici le navigateur. Accents : éàç ✓");
  await page.getByRole("button", { name: "Envoyer" }).click();
  await eventually("C++ receives", async () => {
    await cpp.poll();
    return cpp.received.some((m) => m.text === "Bonjour C++, ici le navigateur. Accents : éàç ✓" && m.sender === "web.aidante");
  });
  await cpp.cmd(`send ${conversation} Deuxième message du C++.`);
  await bubble(page, "Deuxième message du C++.").waitFor();
});

test("the web client starts a direct conversation with the C++ SDK: messages both ways", async () => {
  const cpp = await sdkPeer("cpp.pair", server.codes[2]);
  const { page } = web;
  await page.getByRole("link", { name: "Conversations", exact: true }).click();
  await page.getByLabel("Pseudonyme de la personne").fill("cpp.pair");
  await page.getByRole("button", { name: "Ouvrir la conversation" }).click();
  await page.getByRole("heading", { level: 1, name: "Conversation avec cpp.pair" }).waitFor();
  await page.getByLabel("Votre message").fill("Bonjour le C++, c'est le navigateur qui commence.");
  await page.getByRole("button", { name: "Envoyer" }).click();
  await page.locator("li.msg.mine .status", { hasText: "Envoyé" }).waitFor();
  await eventually("C++ joins and reads", async () => {
    await cpp.poll();
    return cpp.received.some((m) => m.text === "Bonjour le C++, c'est le navigateur qui commence.");
  });
  assert.equal(cpp.joined.length, 1);
  await cpp.cmd(`send ${cpp.joined[0]} Bien reçu par le C++.`);
  await bubble(page, "Bien reçu par le C++.").waitFor();
});
