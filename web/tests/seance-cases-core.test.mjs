// Every case of lib/policy/seance_cases.json through this client's séance check (src/core/seance.ts
// apply and mayWrite), under node: each event's exact refusal (a cercle.v1.SeanceRefusal name) or
// acceptance, what the final state holds, and each handle's gate. lib/policy/seance_cases_test.cpp
// runs the same file through the C++ check the relay and the SDK use, so both answer alike.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { create, fromJson, generateKey, proto, seance, sign, toBinary } from "../build-node/core.mjs";

const WEB = join(dirname(fileURLToPath(import.meta.url)), "..");
const file = JSON.parse(readFileSync(join(WEB, "../lib/policy/seance_cases.json"), "utf8"));
const encoder = new TextEncoder();
const GATES = { allowed: "ALLOWED", outsideSeance: "OUTSIDE_SEANCE", floorElsewhere: "FLOOR_ELSEWHERE", charterUnconfirmed: "CHARTER_UNCONFIRMED" };

// Key pairs made on first use, by name: the cases say who signs, never key bytes.
const keys = new Map();
async function key(name) {
  if (!keys.has(name)) keys.set(name, await generateKey());
  return keys.get(name);
}
async function publicKey(name) {
  return name === "bad" ? new Uint8Array(31).fill(1) : (await key(name)).publicKey;
}

const refusalName = (code) => proto.SeanceRefusalSchema.values.find((v) => v.number === code)?.name ?? `unknown ${code}`;

async function factsFrom(name, seq = 0) {
  const g = file.groups[name];
  const members = [];
  for (const m of g.members) {
    members.push({ handle: m.handle, leaf: m.leaf, kind: m.kind ?? "peer", signatureKey: await publicKey(m.key ?? m.handle) });
  }
  const policy = g.policy === undefined ? undefined : fromJson(proto.GroupPolicySchema, g.policy);
  return { conversationId: encoder.encode(file.conversation), policy, members, seq };
}

function kindOf(e, facts) {
  const charter = seance.charterHash(e.charter ?? facts.policy?.charter ?? "");
  switch (e.kind) {
    case "opened": return { case: "opened", value: { charterHash: charter } };
    case "closed": return { case: "closed", value: {} };
    case "floor_given": return { case: "floorGiven", value: e.who };
    case "floor_back": return { case: "floorBack", value: {} };
    case "hand_raised": return { case: "handRaised", value: {} };
    case "hand_lowered": return { case: "handLowered", value: e.who };
    case "charter_confirmed": return { case: "charterConfirmed", value: charter };
    default: return { case: undefined };
  }
}

function previousOf(e, run) {
  switch (e.previous ?? "head") {
    case "empty": return new Uint8Array(0);
    case "garbage": return new Uint8Array(32).fill(1);
    case "before_last": return Buffer.from(run.heads.at(-1) ?? "", "hex");
    default: return Buffer.from(run.state.head, "hex");
  }
}

async function eventFrom(e, run, facts) {
  if (e.replay !== undefined) return run.sent[e.replay];
  const event = create(proto.SeanceEventSchema, {
    conversationId: e.conversation === undefined ? facts.conversationId : encoder.encode(e.conversation),
    seanceId: encoder.encode(e.seance ?? file.seance),
    previous: previousOf(e, run),
    author: e.author,
    timeMs: 1_800_000_000_000n,
    kind: kindOf(e, facts),
  });
  const signed = await seance.signSeanceEvent(await key(e.signer ?? e.author), event);
  if (e.garbled) signed.event = Uint8Array.of(0xff, 0xff);
  if (e.tamper) signed.signature[0] ^= 1;
  if (e.unsigned) signed.signature = new Uint8Array(0);
  return signed;
}

const seen = new Set();

for (const c of file.cases) {
  test(c.name, async () => {
    let group = c.group;
    const run = { state: seance.emptyState(), heads: [], sent: [] };
    for (const [i, e] of (c.events ?? []).entries()) {
      group = e.group ?? group;
      const facts = await factsFrom(group, i + 1);
      const signed = await eventFrom(e, run, facts);
      run.sent.push(signed);
      const applied = await seance.apply(run.state, signed, facts);
      const got = applied.refusal === undefined ? "ACCEPTED" : refusalName(applied.refusal);
      seen.add(got);
      assert.equal(got, e.expect, `event ${i + 1}`);
      if (applied.refusal !== undefined) continue;
      assert.equal(applied.state.head, Buffer.from(seance.seanceHash(signed)).toString("hex"));
      run.heads.push(run.state.head);
      run.state = applied.state;
    }
    const want = c.state ?? {};
    const s = run.state;
    if (want.open !== undefined) assert.equal(seance.isOpen(s), want.open);
    if (want.floor !== undefined) assert.equal(s.floor, want.floor);
    if (want.hands !== undefined) assert.deepEqual([...s.hands].sort(), [...want.hands].sort());
    if (want.confirmed !== undefined) assert.deepEqual([...s.confirmed].sort(), [...want.confirmed].sort());
    if (want.open_seq !== undefined) assert.equal(s.openSeq, want.open_seq);
    const facts = await factsFrom(c.writes_group ?? group);
    for (const w of c.writes ?? []) assert.equal(GATES[seance.mayWrite(s, facts, w.handle)], w.expect, w.handle);
  });
}

test("every refusal apply can give was met, and acceptance", () => {
  const names = proto.SeanceRefusalSchema.values.filter((v) => v.number !== 0).map((v) => v.name);
  for (const name of ["ACCEPTED", ...names]) assert.ok(seen.has(name), `${name} has no case`);
});

test("the signed bytes: label, a zero byte, the event; the signature verifies with the author's key", async () => {
  const k = await key("anna");
  const event = create(proto.SeanceEventSchema, { author: "anna", kind: { case: "closed", value: {} } });
  const signed = await seance.signSeanceEvent(k, event);
  const encoded = toBinary(proto.SeanceEventSchema, event);
  assert.deepEqual(seance.seanceTranscript(encoded), new Uint8Array([...encoder.encode("cercle-seance-v1"), 0, ...encoded]));
  assert.deepEqual(signed.event, encoded);
  assert.deepEqual(signed.signature, await sign(k, seance.seanceTranscript(encoded)));
});
