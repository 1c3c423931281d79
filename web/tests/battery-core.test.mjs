// Data after a reconnection (issue 15, item 5), the client core under node against the real relay:
// a device that acknowledged its conversations and went away gets, when it comes back, exactly the
// entries written meanwhile, not the history; coming back a second time, nothing old at all. Every
// frame is counted on the device's own WebSocket (a wrapper around node's WebSocket that decodes
// each frame): deliveries received per connection, requests sent (no FetchLog, acks). And a page
// back in view (Messenger.setHidden(false)) tries a lost connection at once, not after its backoff.
import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { facilitator as f, fromBinary, MemoryStore, Messenger, proto } from "../build-node/core.mjs";
import { eventually, serverFor } from "./support.mjs";

/** Each WebSocket opened, by the `who` of its address: deliveries received, requests sent. */
const sockets = [];
const Native = globalThis.WebSocket;
globalThis.WebSocket = class CountingWebSocket extends Native {
  constructor(url, ...rest) {
    super(url, ...rest);
    const record = { who: new URL(url).searchParams.get("who"), deliveries: [], requests: [] };
    sockets.push(record);
    this.addEventListener("message", (e) => {
      const frame = fromBinary(proto.ServerFrameSchema, new Uint8Array(e.data));
      if (frame.kind.case !== "deliveries") return;
      for (const d of frame.kind.value.deliveries) record.deliveries.push({ conv: Buffer.from(d.conversationId).toString("hex"), seq: Number(d.seq) });
    });
    this.record = record;
  }

  send(data) {
    const frame = fromBinary(proto.ClientFrameSchema, data);
    const r = frame.request;
    this.record.requests.push({ kind: r.case, conv: r.value?.conversationId ? Buffer.from(r.value.conversationId).toString("hex") : "", seq: Number(r.value?.seq ?? 0) });
    super.send(data);
  }
};

/** The last socket `who` opened. */
const lastSocket = (who) => sockets.findLast((s) => s.who === who);

async function person(t, server, handle) {
  const m = await Messenger.load({ url: `${server.ws}?who=${encodeURIComponent(handle)}`, store: new MemoryStore(), clientName: "cercle-test-battery" });
  t.after(() => m.stop());
  await m.register(handle);
  assert.ok(await m.waitOnline(10_000));
  return m;
}

async function texts(m, peer) {
  return (await m.messages(peer)).map((x) => x.text);
}

/** Sends each text from `from` to `to` and waits until `to` shows them; returns their log seqs. */
async function talk(from, to, list) {
  for (const text of list) await from.sendText(to.account.handle, text);
  await eventually(`${to.account.handle} reads ${list.at(-1)}`, async () => {
    const all = await texts(to, from.account.handle);
    return list.every((x) => all.includes(x));
  });
  const sent = await eventually("sent", async () => {
    const mine = (await from.messages(to.account.handle)).filter((x) => x.mine && list.includes(x.text));
    return mine.length === list.length && mine.every((x) => x.status === "sent") && mine;
  });
  return sent.map((x) => x.seq).sort((a, b) => a - b);
}

/**
 * Waits until `m` acknowledged every entry it handled in each conversation (on this connection or
 * an earlier one), then makes a round trip on its connection: the relay reads frames in order, so
 * it has taken the acks.
 */
async function acknowledged(m, who) {
  const acks = () => sockets.filter((s) => s.who === who).flatMap((s) => s.requests).filter((r) => r.kind === "ack");
  await eventually(`${who} acknowledges all`, async () => {
    const convs = [...f.convsOf(m).values()];
    return convs.every(({ id, processed }) => acks().some((r) => r.conv === id && r.seq === processed));
  });
  await eventually(`${who} answers`, () => m.ownDevices().then((d) => d.length === 1));
}

test("after a reconnection the relay sends only what the device has not acknowledged, and a second one nothing old", async (t) => {
  const server = await serverFor(t, { registration: "open" });
  const ana = await person(t, server, "ana");
  const bastien = await person(t, server, "bastien");
  const chloe = await person(t, server, "chloe");

  // A history with two people, read and acknowledged.
  await eventually("ana opens with bastien", () => ana.startConversation("bastien").catch(() => null));
  await eventually("ana opens with chloe", () => ana.startConversation("chloe").catch(() => null));
  await talk(ana, bastien, ["Bonjour Bastien", "Tu es là ?"]);
  await talk(bastien, ana, ["Oui, je suis là.", "Comment vas-tu ?", "Je t'écoute."]);
  await talk(ana, chloe, ["Bonjour Chloé"]);
  await talk(chloe, ana, ["Bonjour Ana !", "À jeudi."]);
  await acknowledged(ana, "ana");
  const history = lastSocket("ana").deliveries.length;
  assert.ok(history >= 5, `the history reached ana (${history} deliveries)`);

  // Ana goes away; Bastien writes k messages.
  ana.stop();
  const k = ["Pendant ton absence, 1", "Pendant ton absence, 2", "Pendant ton absence, 3"];
  const missed = [];
  for (const text of k) await bastien.sendText("ana", text);
  await eventually("bastien's messages are on the relay", async () => {
    const mine = (await bastien.messages("ana")).filter((x) => k.includes(x.text) && x.status === "sent");
    missed.splice(0, missed.length, ...mine.map((x) => x.seq).sort((a, b) => a - b));
    return mine.length === k.length;
  });
  const withBastien = (await bastien.messages("ana")).find((x) => x.conv).conv;

  // Back: exactly those k, then what comes live (a marker proves the catch-up is over: the
  // relay delivers a conversation's entries in order, so nothing older can follow it).
  const before = sockets.length;
  ana.start();
  assert.ok(await ana.waitOnline(10_000));
  const first = lastSocket("ana");
  assert.ok(sockets.indexOf(first) >= before, "a new connection");
  const marker1 = await talk(bastien, ana, ["Repère 1"]);
  for (const text of k) assert.ok((await texts(ana, "bastien")).includes(text));
  assert.deepEqual(first.deliveries, [...missed, ...marker1].map((seq) => ({ conv: withBastien, seq })), "only the k missed entries, then the live one");
  assert.deepEqual(first.requests.filter((r) => r.kind === "fetchLog"), [], "nothing read back from the log");
  await acknowledged(ana, "ana");

  // A second reconnection downloads nothing old: only the next live message.
  ana.stop();
  ana.start();
  assert.ok(await ana.waitOnline(10_000));
  const second = lastSocket("ana");
  assert.notEqual(second, first);
  const marker2 = await talk(chloe, ana, ["Repère 2"]);
  const withChloe = (await chloe.messages("ana")).find((x) => x.conv).conv;
  assert.deepEqual(second.deliveries, marker2.map((seq) => ({ conv: withChloe, seq })), "no delivery but the new one");
  // Each text once.
  assert.equal((await texts(ana, "bastien")).filter((x) => x === "Pendant ton absence, 1").length, 1);
});

/** A TCP door in front of the relay: open, each connection goes through; shut, each is closed at once. */
async function door(t, port) {
  const d = { shut: false, open: new Set() };
  const srv = net.createServer((c) => {
    c.on("error", () => {});
    if (d.shut) return c.destroy();
    d.open.add(c);
    const up = net.connect(port, "127.0.0.1");
    up.on("error", () => c.destroy());
    c.on("close", () => (d.open.delete(c), up.destroy()));
    up.on("close", () => c.destroy());
    c.pipe(up).pipe(c);
  });
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  t.after(() => {
    for (const c of d.open) c.destroy();
    return new Promise((r) => srv.close(r));
  });
  d.url = `ws://127.0.0.1:${srv.address().port}/ws`;
  d.close = () => {
    d.shut = true;
    for (const c of d.open) c.destroy();
  };
  return d;
}

test("back in view, a connection lost while hidden is tried again at once, not at the end of its backoff", async (t) => {
  const server = await serverFor(t, { registration: "open" });
  const d = await door(t, Number(new URL(server.url).port));
  const m = await Messenger.load({ url: d.url, store: new MemoryStore(), clientName: "cercle-test-battery" });
  t.after(() => m.stop());
  await m.register("dora");
  assert.ok(await m.waitOnline(10_000));
  m.setHidden(true);
  // The relay cannot be reached: the loop backs off (1, 2, 4 s…) until the next try is far enough.
  d.close();
  await eventually("a try seconds away", () => m.state === "offline" && m.retryAt - Date.now() > 2500, 30_000);
  d.shut = false;
  const due = m.retryAt;
  m.setHidden(false);
  assert.ok(await m.waitOnline(10_000));
  assert.ok(Date.now() < due, `online ${due - Date.now()} ms before the try the backoff had planned`);
});
