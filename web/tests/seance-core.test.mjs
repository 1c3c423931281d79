// Séances in the client core (src/core/seances.ts) under node, real relay. Sam's client talks to the
// relay through the relay double (relay-double.mjs), which replaces a delivery on demand as a lying
// relay would: a séance event signed with the wrong key, a floor given by a plain member, and a
// replayed opening are refused by sam's own check (the state stays, a warning is noted), also after
// a reload. Then the séance through the real relay: open, the charter confirmed, a hand raised, the
// floor given (the others' composer gate says whose it is, and the relay refuses their message),
// a hand held back by the double until another came first (SEANCE_CONFLICT, signed again), closed;
// erase_after: the séance's messages deleted from each device at due time.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { create, facilitator as f, groupKey, MemoryStore, Messenger, proto, seance as s, toBinary } from "../build-node/core.mjs";
import { startRelayDouble } from "./relay-double.mjs";
import { eventually, startServer } from "./support.mjs";

const CHARTER = "Ce qui se dit ici reste ici.";
let server, double;
const people = [];
let camille, sam, alex, samStore;
let id;

async function person(handle, code, url = server.ws, store = new MemoryStore()) {
  const m = await Messenger.load({ url, store, clientName: "cercle-test-seance", keyPackageStock: 4 });
  if (code) await m.register(handle, { code });
  else m.start();
  assert.ok(await m.waitOnline(10_000));
  people.push(m);
  return m;
}

const view = (m) => m.seanceView(groupKey(id));
const events = async (m) => (await f.groupMessages(m, id)).filter((x) => x.event).map((x) => x.event);
const ignoredCount = async (m) => (await events(m)).filter((e) => e.type === "ignored").length;
const texts = async (m) => (await f.groupMessages(m, id)).filter((x) => !x.event).map((x) => x.text);
const act = async (m, action) => (await m.seances()).act(id, action);

/** A séance event as `author` would write it, signed with `signer`'s leaf key, on top of sam's head. */
async function forged(signer, author, kind) {
  const meta = f.convsOf(sam).get(id);
  const event = create(proto.SeanceEventSchema, {
    conversationId: Buffer.from(id, "hex"),
    seanceId: Buffer.from(meta.seance?.openId ?? "", "hex"),
    previous: Buffer.from(meta.seance?.head ?? "", "hex"),
    author,
    timeMs: BigInt(Date.now()),
    kind,
  });
  return s.signSeanceEvent(signer["ctx"].account.mlsKey, event);
}

const eventPayload = (signed) => toBinary(proto.GroupEventSchema, create(proto.GroupEventSchema, { kind: { case: "seance", value: signed }, by: "x" }));

/** The double turns camille's next message to sam into an EVENT holding `payload`; returns the probe text. */
async function handOver(payload) {
  let replaced = false;
  double.rewrite = (d) => {
    if (replaced || d.kind !== proto.DeliveryKind.APPLICATION || d.senderDevice !== camille.account.deviceId) return d;
    replaced = true;
    return { ...d, kind: proto.DeliveryKind.EVENT, payload };
  };
  const before = await ignoredCount(sam);
  await camille.sendText(groupKey(id), `probe ${Date.now()}`);
  await eventually("sam handles the forged event", async () => (await ignoredCount(sam)) === before + 1);
  double.rewrite = (d) => d;
}

before(async () => {
  server = await startServer({ registration: "invite-code", codes: 4 });
  double = await startRelayDouble(server);
  camille = await person("camille", server.codes[0]);
  samStore = new MemoryStore();
  sam = await person("sam", server.codes[1], double.url.replace(/^http/, "ws") + "/ws", samStore);
  alex = await person("alex", server.codes[2]);
  const rules = { charter: CHARTER, seances: { writeOnlyInSeance: true, turnTaking: true } };
  id = await eventually("group created", () => f.createGroup(camille, rules, ["sam", "alex"]).catch(() => null));
  await eventually("both members hold the group", () => f.holdsGroup(sam, id) && f.holdsGroup(alex, id));
  await eventually("both members read the séance rules", () => view(sam)?.rules && view(alex)?.rules);
});

after(async () => {
  for (const m of people) m.stop();
  await double?.stop?.();
  await server?.stop();
});

test("forged séance events delivered by a lying relay are refused by the member's own check", async () => {
  assert.equal(view(sam).gate, "outsideSeance");
  await act(camille, { case: "opened" });
  await eventually("sam sees the séance open", () => view(sam).open);
  const before = structuredClone(f.convsOf(sam).get(id).seance);
  assert.equal(view(sam).gate, "charterUnconfirmed");
  // Camille's name, alex's key: the signature does not verify with any of camille's leaves.
  await handOver(eventPayload(await forged(alex, "camille", { case: "closed", value: create(proto.SeanceClosedSchema) })));
  assert.deepEqual(f.convsOf(sam).get(id).seance, before);
  // Alex's own name and key, but giving the floor is a facilitator's act.
  await handOver(eventPayload(await forged(alex, "alex", { case: "floorGiven", value: "alex" })));
  assert.deepEqual(f.convsOf(sam).get(id).seance, before);
  assert.equal(view(sam).floor, "");
  assert.ok((await events(sam)).some((e) => e.type === "ignored" && e.what === "event"));
});

test("a séance's state survives a reload and a replayed event is refused", async () => {
  // Sam keeps the opening the relay delivered; the relay later shows it again after the close.
  await act(camille, { case: "closed" });
  await eventually("sam sees it closed", () => !view(sam).open);
  const closed = structuredClone(f.convsOf(sam).get(id).seance);
  sam.stop();
  sam = await person("sam", undefined, double.url.replace(/^http/, "ws") + "/ws", samStore);
  assert.deepEqual(f.convsOf(sam).get(id).seance, closed, "kept in the conversation's record");
  // An opening in camille's name and key, as the relay would replay one: its `previous` is not
  // sam's head (the first event's, empty), so it is refused.
  const stale = create(proto.SeanceEventSchema, {
    conversationId: Buffer.from(id, "hex"),
    seanceId: new Uint8Array(16).fill(7),
    author: "camille",
    kind: { case: "opened", value: create(proto.SeanceOpenedSchema, { charterHash: s.charterHash(CHARTER) }) },
  });
  await handOver(eventPayload(await s.signSeanceEvent(camille["ctx"].account.mlsKey, stale)));
  assert.deepEqual(f.convsOf(sam).get(id).seance, closed);
  assert.equal(view(sam).open, false);
});

/**
 * Sam's hand is signed on the head sam knows and held by the double while alex's hand reaches the
 * relay first: the relay answers SEANCE_CONFLICT, sam reads alex's hand and signs once more.
 */
async function raceForHands() {
  let release;
  const gate = new Promise((r) => (release = r));
  let held = 0;
  const errors = [];
  double.hold = (kind) => (kind === "postSeanceEvent" && held++ === 0 ? gate : undefined);
  double.rewriteResponse = (r) => void (r.result?.case === "error" && errors.push(r.result.value.code));
  const samHand = act(sam, { case: "handRaised" });
  await eventually("the double holds sam's hand", () => held === 1);
  await act(alex, { case: "handRaised" });
  await eventually("sam reads alex's hand", () => view(sam).hands.includes("alex"));
  release();
  await samHand;
  double.hold = () => undefined;
  double.rewriteResponse = () => {};
  assert.equal(held, 2, "sam's hand was posted twice");
  assert.deepEqual(errors, [proto.ErrorCode.SEANCE_CONFLICT]);
}

test("a séance through the real relay: charter, hand, floor, gates, a conflict, close", async () => {
  await act(camille, { case: "opened" });
  await eventually("both see it open", () => view(sam).open && view(alex).open);
  assert.equal(view(alex).gate, "charterUnconfirmed");
  // Before confirming, the relay refuses alex's message too.
  await alex.sendText(groupKey(id), "Trop tôt.");
  await eventually("the relay refuses it", async () => (await f.groupMessages(alex, id)).some((x) => x.text === "Trop tôt." && x.status === "failed"));
  await act(alex, { case: "charterConfirmed" });
  await act(sam, { case: "charterConfirmed" });
  assert.equal(view(alex).gate, "allowed");
  await raceForHands();
  await eventually("camille sees both hands", () => view(camille).hands.sort().join() === "alex,sam");
  await act(camille, { case: "floorGiven", handle: "sam" });
  await eventually("alex sees the floor is sam's", () => view(alex).floor === "sam");
  assert.equal(view(alex).gate, "floorElsewhere");
  assert.equal(view(sam).gate, "allowed");
  assert.deepEqual(view(alex).hands, ["alex"]);
  await sam.sendText(groupKey(id), "Je prends la parole.");
  await eventually("alex reads sam", async () => (await texts(alex)).includes("Je prends la parole."));
  await act(alex, { case: "handLowered" });
  await act(camille, { case: "floorBack" });
  await eventually("the floor is nobody's", () => view(alex).floor === "" && view(alex).gate === "allowed");
  await act(camille, { case: "closed" });
  await eventually("closed for everyone", () => !view(sam).open && !view(alex).open);
  assert.equal(view(alex).gate, "outsideSeance");
  assert.equal(view(camille).gate, "allowed", "facilitators are exempt");
  assert.deepEqual(f.convsOf(alex).get(id).seance.confirmed, [], "closing clears the confirmations");
});

test("erase_after: each device deletes its own copies of a closed séance's messages at due time", async () => {
  await (await camille.seances()).setRules(id, { writeOnlyInSeance: true, turnTaking: true, eraseAfter: true, eraseDelayMinutes: 0 });
  await eventually("alex reads the new rules", () => f.convsOf(alex).get(id).rules?.seances?.eraseAfter === true);
  await act(camille, { case: "opened" });
  await eventually("alex sees it open", () => view(alex).open);
  await act(alex, { case: "charterConfirmed" });
  await alex.sendText(groupKey(id), "À effacer après la séance.");
  await eventually("camille reads it", async () => (await texts(camille)).includes("À effacer après la séance."));
  await act(camille, { case: "closed" });
  await eventually("alex sees it closed", () => !view(alex).open);
  await camille.sendText(groupKey(id), "Après la séance.");
  await eventually("alex reads the later message", async () => (await texts(alex)).includes("Après la séance."));
  assert.equal(f.convsOf(alex).get(id).seance.erasures.length, 1);
  for (const m of [alex, camille]) {
    await m.prune();
    const left = await texts(m);
    assert.ok(!left.includes("À effacer après la séance."), "the séance's message is gone");
    assert.ok(left.includes("Après la séance.") && left.includes("Je prends la parole."), "messages outside the window stay");
    assert.deepEqual(f.convsOf(m).get(id).seance.erasures, []);
  }
});
