// Interoperability with the C++ command-line client `cercle` (client/cli, on the client SDK): the
// web client in Chromium and a `cercle` user in one direct conversation, messages both ways, each side
// creating the conversation once. Every CLI command is its own process (its own connection, its
// state in its encrypted local store between commands), killed if it outlives its time limit. Each
// test has its own relay, browser context and accounts: any test runs alone or in any order.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { WEB, eventually, launchBrowser, personFor, registerInPage, serverFor } from "./support.mjs";

let browser;

const message = (page, text) => page.locator("ol.messages li.msg", { has: page.locator(".text", { hasText: text }) });

function cliBinary() {
  const candidates = [process.env.CERCLE_CLI, join(WEB, "../build/bin/cercle"), join(WEB, "../build-web/bin/cercle")];
  const found = candidates.find((p) => p && existsSync(p));
  if (!found) throw new Error("cercle (the CLI) not found: build the cmake target `cercle`, or set CERCLE_CLI");
  return found;
}

/** A `cercle` user: its own data folder and passphrase; one process per command. */
class CliUser {
  constructor(server, handle) {
    this.server = server;
    this.handle = handle;
    this.dir = mkdtempSync(join(tmpdir(), "cercle-cli-interop-"));
    this.env = { ...process.env, CERCLE_PASSPHRASE: `phrase de test de ${handle}` };
  }

  /** Runs `cercle --json ARGS`; resolves with the exit code and output, whatever the code. */
  run(args, timeoutMs = 30_000) {
    const argv = ["--server", this.server.ws, "--data", this.dir, "--json", ...args];
    return new Promise((resolve) => {
      execFile(cliBinary(), argv, { env: this.env, timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
        const code = err ? (err.killed ? `killed after ${timeoutMs} ms` : err.code) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Runs a command that must succeed; returns its JSON lines. */
  async ok(args, timeoutMs) {
    const r = await this.run(args, timeoutMs);
    if (r.code !== 0) throw new Error(`cercle ${args[0]}: exit ${r.code}: ${r.stderr.trim()}`);
    return r.stdout.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
  }

  /** Waits (bounded, in the CLI) for exactly `count` new messages; returns them (not the group events it also prints). */
  async listen(count, seconds = 20) {
    const lines = await this.ok(["listen", "--count", String(count), "--timeout", String(seconds)], (seconds + 15) * 1000);
    return lines.filter((l) => typeof l.text === "string");
  }
}

/** A registered `cercle` user for one test; its data folder is removed when the test ends. */
async function cliUser(t, server, handle, code) {
  const u = new CliUser(server, handle);
  t.after(() => rmSync(u.dir, { recursive: true, force: true }));
  const [registered] = await u.ok(["register", handle, "--code", code]);
  assert.equal(registered.handle, handle);
  return u;
}

before(async () => {
  cliBinary();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/** A relay for the test and the helper "web.aidante" signed in with Chromium; `codes` codes left. */
async function webHelper(t, codes) {
  const server = await serverFor(t, { registration: "invite-code", codes: 1 + codes });
  const web = await personFor(t, browser, { viewport: { width: 1024, height: 800 } });
  await registerInPage(web.page, server.url, "web.aidante", server.codes[0]);
  return { server, web };
}

test("the CLI starts a direct conversation with the web client: messages both ways", async (t) => {
  const { server, web } = await webHelper(t, 1);
  const cli = await cliUser(t, server, "cli.visiteur", server.codes[1]);
  // The web client's key packages are on the relay shortly after it is online.
  const [{ conversation }] = await eventually("the CLI opens the conversation", () => cli.ok(["dm", "web.aidante"]).catch(() => null), 30_000);
  assert.match(conversation, /^[0-9a-f]{32}$/);
  await cli.ok(["send", conversation, "Bonjour depuis le client en ligne de commande."]);

  const { page, problems } = web;
  const thread = page.getByRole("link", { name: /cli\.visiteur.*1 nouveau message/ });
  await thread.waitFor();
  await thread.click();
  const first = message(page, "Bonjour depuis le client en ligne de commande.");
  await first.waitFor();
  assert.equal(await first.locator(".who").textContent(), "cli.visiteur");

  await page.getByLabel("Votre message").fill("Bonjour le CLI, ici le navigateur. Accents : éàç ✓");
  await page.getByRole("button", { name: "Envoyer" }).click();
  const [got] = await cli.listen(1);
  assert.deepEqual(
    { conversation: got.conversation, sender: got.sender, text: got.text, own: got.own },
    { conversation, sender: "web.aidante", text: "Bonjour le CLI, ici le navigateur. Accents : éàç ✓", own: false },
  );

  await cli.ok(["send", conversation, "Deuxième message du CLI, après celui du navigateur."]);
  await message(page, "Deuxième message du CLI, après celui du navigateur.").waitFor();

  const convs = await cli.ok(["conversations"]);
  assert.deepEqual(
    convs.map((c) => [c.conversation, c.direct, [...c.members].sort()]),
    [[conversation, true, ["cli.visiteur", "web.aidante"]]],
  );
  // The CLI's own record of the conversation: every message once, in order, named by MLS.
  const history = await cli.ok(["history", conversation]);
  assert.deepEqual(
    history.map((m) => [m.sender, m.own, m.text]),
    [
      ["cli.visiteur", true, "Bonjour depuis le client en ligne de commande."],
      ["web.aidante", false, "Bonjour le CLI, ici le navigateur. Accents : éàç ✓"],
      ["cli.visiteur", true, "Deuxième message du CLI, après celui du navigateur."],
    ],
  );
  assert.deepEqual(problems, []);
});

test("the web client starts a direct conversation with the CLI user's handle: messages both ways", async (t) => {
  const { server, web } = await webHelper(t, 1);
  const cli = await cliUser(t, server, "cli.pair", server.codes[1]);
  const { page, problems } = web;
  await page.getByRole("link", { name: "Conversations", exact: true }).click();
  await page.getByLabel("Pseudonyme de la personne").fill("cli.pair");
  await page.getByRole("button", { name: "Ouvrir la conversation" }).click();
  await page.getByRole("heading", { level: 1, name: "Conversation avec cli.pair" }).waitFor();
  await page.getByLabel("Votre message").fill("Bonjour, c'est le navigateur qui commence.");
  await page.getByRole("button", { name: "Envoyer" }).click();
  await page.locator("li.msg.mine .status", { hasText: "Envoyé" }).waitFor();

  // The CLI joins from the Welcome and reads the message.
  const [got] = await cli.listen(1);
  assert.equal(got.sender, "web.aidante");
  assert.equal(got.text, "Bonjour, c'est le navigateur qui commence.");
  assert.equal(got.own, false);
  const { conversation } = got;
  assert.match(conversation, /^[0-9a-f]{32}$/);
  const convs = await cli.ok(["conversations"]);
  assert.equal(convs.length, 1);
  assert.equal(convs[0].conversation, conversation);
  // (Not `direct`: the SDK records every conversation it joins from a Welcome as a group, whoever
  // created it; client/sdk/client_sync.cpp apply_welcome.)
  assert.deepEqual([...convs[0].members].sort(), ["cli.pair", "web.aidante"]);

  await cli.ok(["send", conversation, "Bien reçu par le CLI."]);
  const answer = message(page, "Bien reçu par le CLI.");
  await answer.waitFor();
  assert.equal(await answer.locator(".who").textContent(), "cli.pair");

  await page.getByLabel("Votre message").fill("Et un deuxième message du navigateur.");
  await page.getByRole("button", { name: "Envoyer" }).click();
  const [second] = await cli.listen(1);
  assert.deepEqual(
    { conversation: second.conversation, sender: second.sender, text: second.text },
    { conversation, sender: "web.aidante", text: "Et un deuxième message du navigateur." },
  );
  assert.deepEqual(problems, []);
});

test("a groupe de parole made by the CLI: the web member sees its facilitator, a professional it invited, marked, and its events", async (t) => {
  const { server, web } = await webHelper(t, 2);
  const anim = await cliUser(t, server, "cli.anim", server.codes[1]);
  const pro = await cliUser(t, server, "cli.pro", server.codes[2]);
  server.admin("account", "set-type", "cli.pro", "professional");
  const { page, problems } = web;
  const [{ conversation }] = await anim.ok(["group", "create"]);
  await anim.ok(["group", "policy", conversation, "--charter", "Ce qui se dit ici reste ici."]);
  await anim.ok(["group", "add", conversation, "web.aidante"]);
  await page.getByRole("link", { name: "Conversations", exact: true }).click();
  const thread = page.getByRole("link", { name: /Groupe de parole avec cli\.anim/ });
  await thread.waitFor();
  await thread.click();
  const members = page.locator("ul.members > li > .person");
  await eventually("two members", async () => (await members.count()) === 2);
  assert.deepEqual((await members.allTextContents()).map((x) => x.trim()), ["cli.anim animateur ou animatrice", "web.aidante (vous)"]);

  // The C++ facilitator invites a professional who accompanies the web user; its client adds them
  // once they accepted. The web client checks the invitation against the C++ leaf's key.
  await pro.ok(["conversations"]);  // Signs in once as a professional: key packages that say so.
  const [invitation] = await anim.ok(["group", "invite", conversation, "cli.pro", "--accompanying", "web.aidante"]);
  const event = (text) => page.locator("ol.messages li.msg.event p.text", { hasText: text });
  await event("cli.anim a invité cli.pro, une personne professionnelle, qui accompagne web.aidante.").waitFor();
  const pending = await pro.ok(["group", "invitations"]);
  assert.equal(pending.length, 1);
  assert.equal(pending[0].invitation, invitation.invitation);
  assert.equal(pending[0].charter, "Ce qui se dit ici reste ici.");
  await pro.ok(["group", "accept", invitation.invitation]);
  await event("cli.pro a accepté l'invitation.").waitFor();
  await anim.ok(["listen", "--timeout", "3"], 20_000);  // Its client adds who accepted.
  await event("cli.pro, une personne professionnelle, a rejoint le groupe.").waitFor();
  const proItem = page.locator("ul.members > li > .person", { hasText: "cli.pro" });
  await proItem.waitFor();
  assert.equal((await proItem.textContent()).trim(), "cli.pro personne professionnelle invitée, accompagne web.aidante");

  const [{ seq }] = await pro.ok(["send", conversation, "Bonjour, je suis la professionnelle invitée."]);
  const said = message(page, "Bonjour, je suis la professionnelle invitée.");
  await said.waitFor();
  assert.equal(await said.locator(".who").textContent(), "cli.pro");
  assert.equal(await said.locator(".tag.pro").textContent(), "personne professionnelle");

  await page.getByLabel("Votre message").fill("Bonjour à vous deux, depuis le navigateur.");
  await page.getByRole("button", { name: "Envoyer" }).click();
  const heard = await anim.listen(2);  // The professional's message, then the web user's.
  assert.deepEqual(
    heard.map((m) => [m.conversation, m.sender, m.text, m.professional]),
    [
      [conversation, "cli.pro", "Bonjour, je suis la professionnelle invitée.", true],
      [conversation, "web.aidante", "Bonjour à vous deux, depuis le navigateur.", false],
    ],
  );
  const members2 = await anim.ok(["group", "members", conversation]);
  assert.deepEqual(
    members2[0].map((m) => [m.handle, m.role, m.professional]).sort(),
    [["cli.anim", "facilitator", false], ["cli.pro", "invited_professional", true], ["web.aidante", "member", false]],
  );

  // The facilitator deletes the professional's message for everyone.
  await anim.ok(["group", "delete", conversation, String(seq)]);
  await event("Un message a été supprimé par l'animation.").waitFor();
  await said.waitFor({ state: "detached" });
  assert.deepEqual(problems, []);
});
