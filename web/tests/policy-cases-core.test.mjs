// Every case of lib/policy/policy_cases.json through this client's rules check
// (src/core/policy.ts checkCommit, and leafChange for leaf_changes), under node: the exact refusal (a cercle.v1.PolicyRefusal name)
// or acceptance, the handle it names and the invitations it uses. lib/policy/policy_cases_test.cpp
// runs the same file through the C++ check the relay and the SDK use, so both answer alike.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { create, fromJson, generateKey, policy, proto, sign, toBinary } from "../build-node/core.mjs";

const WEB = join(dirname(fileURLToPath(import.meta.url)), "..");
const file = JSON.parse(readFileSync(join(WEB, "../lib/policy/policy_cases.json"), "utf8"));
const encoder = new TextEncoder();
const hexOf = (text) => Buffer.from(encoder.encode(text)).toString("hex");

// Key pairs made on first use, by name: the cases say who signs, never key bytes.
const keys = new Map();
async function key(name) {
  if (!keys.has(name)) keys.set(name, await generateKey());
  return keys.get(name);
}
async function publicKey(name) {
  return name === "bad" ? new Uint8Array(31).fill(1) : (await key(name)).publicKey;
}

const policyFrom = (json) => fromJson(proto.GroupPolicySchema, json);
const refusalName = (code) => proto.PolicyRefusalSchema.values.find((v) => v.number === code)?.name ?? `unknown ${code}`;

async function groupFrom(c) {
  const g = typeof c.group === "string" ? file.groups[c.group] : c.group;
  const rules = c.policy ?? g.policy;
  const members = [];
  for (const m of g.members) {
    members.push({ handle: m.handle, leaf: m.leaf, kind: m.kind ?? "peer", signatureKey: await publicKey(m.key ?? m.handle) });
  }
  return {
    conversationId: encoder.encode(file.conversation),
    policy: rules === undefined ? undefined : policyFrom(rules),
    members,
    usedInvitations: new Set((c.used ?? g.used ?? []).map(hexOf)),
    revokedInvitations: new Set((c.revoked ?? g.revoked ?? []).map(hexOf)),
    declinedInvitations: new Set((c.declined ?? g.declined ?? []).map(hexOf)),
  };
}

async function invitationFrom(i, nowMs) {
  if (i.garbled) return create(proto.SignedInvitationSchema, { invitation: Uint8Array.of(0xff, 0xff), signature: new Uint8Array(64) });
  const expiresAtMs = i.expires_at_ms !== undefined ? BigInt(i.expires_at_ms) : BigInt(nowMs) + BigInt(i.expires_in_ms ?? 3_600_000);
  const invitation = toBinary(
    proto.InvitationSchema,
    create(proto.InvitationSchema, {
      conversationId: encoder.encode(i.conversation ?? file.conversation),
      inviter: i.inviter,
      invitee: i.invitee,
      inviteeType: proto.InviteeType[i.type ?? "INVITEE_PROFESSIONAL"],
      expiresAtMs,
      nonce: encoder.encode(i.nonce ?? "n1"),
    }),
  );
  const signature = i.unsigned ? new Uint8Array(0) : await sign(await key(i.signer), policy.invitationTranscript(invitation));
  if (i.tamper) signature[0] ^= 1;
  return create(proto.SignedInvitationSchema, { invitation, signature });
}

async function changeFrom(commit, nowMs) {
  const invitations = [];
  for (const i of commit.invitations ?? []) invitations.push(await invitationFrom(i, nowMs));
  return {
    committerLeaf: commit.by,
    added: (commit.added ?? []).map((a) => ({ handle: a.handle, kind: a.kind ?? "peer" })),
    removed: (commit.removed ?? []).map((r) => ({ leaf: r.leaf, selfRequested: r.self === true })),
    newPolicy: commit.new_policy === undefined ? undefined : policyFrom(commit.new_policy),
    data: create(proto.CommitDataSchema, { invitations }),
  };
}

test("the cases file has enough cases to speak for the rules", () => {
  assert.ok(file.cases.length >= 40, `${file.cases.length} cases`);
});

for (const c of file.cases) {
  test(c.name, async () => {
    const nowMs = Number(c.now_ms ?? file.now_ms);
    const verdict = await policy.checkCommit(await groupFrom(c), await changeFrom(c.commit, nowMs), nowMs);
    assert.equal(verdict.refusal === undefined ? "ACCEPTED" : refusalName(verdict.refusal), c.expect);
    if (c.who !== undefined && verdict.refusal !== undefined) assert.equal(verdict.who, c.who);
    if (c.used_nonces !== undefined && verdict.refusal === undefined) assert.deepEqual(verdict.usedNonces, c.used_nonces.map(hexOf));
  });
}

for (const c of file.leaf_changes) {
  test(`leaf change: ${c.name}`, async () => {
    const leaf = async (m) => ({ handle: m.handle, leaf: 0, kind: m.kind ?? "peer", signatureKey: await publicKey(m.key ?? m.handle) });
    const code = policy.leafChange(await leaf(c.before), await leaf(c.after));
    assert.equal(code === undefined ? "ACCEPTED" : refusalName(code), c.expect);
  });
}
