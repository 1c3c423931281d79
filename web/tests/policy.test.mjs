// The group rules check (src/core/policy.ts, a port of lib/policy/policy.cpp) under node,
// without a relay: the same situations as the C++ tests, in cases of our own. Each refusal is named
// by its code, cercle.v1.PolicyRefusal (the page words it in French and English). The cases shared
// with the C++ check are in policy-cases-core.test.mjs.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { create, generateKey, policy, proto, sign, toBinary } from "../build-node/core.mjs";

const { accountTypeChange, checkCommit, checkProposal, invitationTranscript, leafChange } = policy;
const { Role, JoinRule, InviteeType, PolicyRefusal } = proto;
const NOW = 1_900_000_000_000;
const GROUP_ID = Uint8Array.from({ length: 16 }, (_, i) => i + 1);

let lea, malik, noor;  // Léa facilitates; Malik is a member; Noor is a second device of Léa.

before(async () => {
  lea = await generateKey();
  malik = await generateKey();
  noor = await generateKey();
});

function rules(init = {}) {
  return create(proto.GroupPolicySchema, { roles: [{ handle: "lea", role: Role.FACILITATOR }], ...init });
}

function group(over = {}) {
  return {
    conversationId: GROUP_ID,
    policy: rules(),
    members: [
      { handle: "lea", leaf: 0, kind: "peer", signatureKey: lea.publicKey },
      { handle: "malik", leaf: 1, kind: "peer", signatureKey: malik.publicKey },
    ],
    usedInvitations: new Set(),
    revokedInvitations: new Set(),
    ...over,
  };
}

const nonce = (n) => Uint8Array.from({ length: 16 }, () => n);
const hex = (b) => Buffer.from(b).toString("hex");

async function invitation(key, fields) {
  const invitation = toBinary(
    proto.InvitationSchema,
    create(proto.InvitationSchema, {
      conversationId: GROUP_ID,
      inviter: "lea",
      invitee: "dr.rossi",
      inviteeType: InviteeType.INVITEE_PROFESSIONAL,
      expiresAtMs: BigInt(NOW + 3_600_000),
      nonce: nonce(7),
      ...fields,
    }),
  );
  return create(proto.SignedInvitationSchema, { invitation, signature: await sign(key, invitationTranscript(invitation)) });
}

function adds(by, handle, kind = "peer", invitations = []) {
  return { committerLeaf: by, added: [{ handle, kind }], removed: [], data: create(proto.CommitDataSchema, { invitations }) };
}

describe("who adds and removes", () => {
  test("a facilitator adds a peer; a plain member may not", async () => {
    assert.equal((await checkCommit(group(), adds(0, "sacha"), NOW)).refusal, undefined);
    const v = await checkCommit(group(), adds(1, "sacha"), NOW);
    assert.equal(v.refusal, PolicyRefusal.ONLY_FACILITATOR_ADDS);
    assert.equal(v.who, "sacha");
  });

  test("only a facilitator removes others, but anyone may leave", async () => {
    const removesLea = { committerLeaf: 1, added: [], removed: [{ leaf: 0, selfRequested: false }] };
    assert.equal((await checkCommit(group(), removesLea, NOW)).refusal, PolicyRefusal.ONLY_FACILITATOR_REMOVES);
    const malikLeaves = { committerLeaf: 1, added: [], removed: [{ leaf: 1, selfRequested: true }] };
    assert.equal((await checkCommit(group(), malikLeaves, NOW)).refusal, undefined);
    const leaRemovesMalik = { committerLeaf: 0, added: [], removed: [{ leaf: 1, selfRequested: false }] };
    assert.equal((await checkCommit(group(), leaRemovesMalik, NOW)).refusal, undefined);
  });

  test("a commit from a leaf that is not in the group is refused", async () => {
    assert.equal((await checkCommit(group(), adds(5, "sacha"), NOW)).refusal, PolicyRefusal.NOT_A_MEMBER);
  });
});

describe("professionals come only by a facilitator's invitation", () => {
  test("without an invitation: refused; with a valid one: accepted and its nonce used", async () => {
    assert.equal((await checkCommit(group(), adds(0, "dr.rossi", "professional"), NOW)).refusal, PolicyRefusal.PROFESSIONAL_WITHOUT_INVITATION);
    const ok = await checkCommit(group(), adds(0, "dr.rossi", "professional", [await invitation(lea, {})]), NOW);
    assert.equal(ok.refusal, undefined);
    assert.deepEqual(ok.usedNonces, [hex(nonce(7))]);
  });

  test("every way an invitation can be wrong", async () => {
    const cases = [
      ["signed by a member in their own name", await invitation(malik, { inviter: "malik" }), PolicyRefusal.INVITATION_NOT_FROM_FACILITATOR],
      ["claims the facilitator, signed by someone else", await invitation(malik, {}), PolicyRefusal.INVITATION_SIGNATURE],
      ["for another person", await invitation(lea, { invitee: "dr.autre" }), PolicyRefusal.PROFESSIONAL_WITHOUT_INVITATION],
      ["a professional invited as a peer", await invitation(lea, { inviteeType: InviteeType.INVITEE_PEER }), PolicyRefusal.PROFESSIONAL_INVITED_AS_PEER],
      ["expired at the commit's time", await invitation(lea, { expiresAtMs: BigInt(NOW) }), PolicyRefusal.INVITATION_EXPIRED],
      ["for another group", await invitation(lea, { conversationId: nonce(9) }), PolicyRefusal.INVITATION_OTHER_GROUP],
    ];
    for (const [what, signed, code] of cases) {
      const v = await checkCommit(group(), adds(0, "dr.rossi", "professional", [signed]), NOW);
      assert.equal(v.refusal, code, what);
    }
    const garbled = create(proto.SignedInvitationSchema, { invitation: Uint8Array.of(0xff, 0xff), signature: new Uint8Array(64) });
    assert.equal((await checkCommit(group(), adds(0, "dr.rossi", "professional", [garbled]), NOW)).refusal, PolicyRefusal.PROFESSIONAL_WITHOUT_INVITATION);
    const tampered = await invitation(lea, {});
    tampered.signature[0] ^= 1;
    assert.equal((await checkCommit(group(), adds(0, "dr.rossi", "professional", [tampered]), NOW)).refusal, PolicyRefusal.INVITATION_SIGNATURE);
  });

  test("an invitation serves once and not after it was revoked", async () => {
    const change = adds(0, "dr.rossi", "professional", [await invitation(lea, {})]);
    assert.equal((await checkCommit(group({ usedInvitations: new Set([hex(nonce(7))]) }), change, NOW)).refusal, PolicyRefusal.INVITATION_USED);
    assert.equal((await checkCommit(group({ revokedInvitations: new Set([hex(nonce(7))]) }), change, NOW)).refusal, PolicyRefusal.INVITATION_REVOKED);
  });

  test("a plain member cannot add the professional even with a valid invitation", async () => {
    const v = await checkCommit(group(), adds(1, "dr.rossi", "professional", [await invitation(lea, {})]), NOW);
    assert.equal(v.refusal, PolicyRefusal.ONLY_FACILITATOR_ADDS_INVITED);
  });

  test("an invited peer is added by a facilitator only", async () => {
    const peerInvite = await invitation(lea, { invitee: "sacha", inviteeType: InviteeType.INVITEE_PEER, nonce: nonce(3) });
    assert.equal((await checkCommit(group(), adds(0, "sacha", "peer", [peerInvite]), NOW)).refusal, undefined);
    assert.equal((await checkCommit(group(), adds(1, "sacha", "peer", [peerInvite]), NOW)).refusal, PolicyRefusal.ONLY_FACILITATOR_ADDS_INVITED);
  });

  test("any device of the facilitator may have signed the invitation", async () => {
    const twoDevices = group();
    twoDevices.members.push({ handle: "lea", leaf: 2, kind: "peer", signatureKey: noor.publicKey });
    const v = await checkCommit(twoDevices, adds(0, "dr.rossi", "professional", [await invitation(noor, {})]), NOW);
    assert.equal(v.refusal, undefined);
  });
});

describe("open groups, bans", () => {
  test("in a group open to peers, a member adds a peer, never a professional", async () => {
    const open = group({ policy: rules({ joinRule: JoinRule.OPEN_TO_PEERS }) });
    assert.equal((await checkCommit(open, adds(1, "sacha"), NOW)).refusal, undefined);
    assert.equal((await checkCommit(open, adds(1, "dr.rossi", "professional"), NOW)).refusal, PolicyRefusal.PROFESSIONAL_WITHOUT_INVITATION);
    assert.equal((await checkCommit(open, adds(0, "dr.rossi", "professional"), NOW)).refusal, PolicyRefusal.PROFESSIONAL_WITHOUT_INVITATION);
  });

  test("a banned account does not come back, not even in the commit that bans it", async () => {
    const banned = group({ policy: rules({ banned: ["sacha"] }) });
    const v = await checkCommit(banned, adds(0, "sacha"), NOW);
    assert.equal(v.refusal, PolicyRefusal.BANNED);
    assert.equal(v.who, "sacha");
    const sneaky = { ...adds(0, "sacha"), newPolicy: rules({ banned: ["sacha"] }) };
    assert.equal((await checkCommit(group(), sneaky, NOW)).refusal, PolicyRefusal.BANNED);
  });
});

describe("the rules themselves", () => {
  test("only a facilitator changes them", async () => {
    const muteLea = (by) => ({ committerLeaf: by, added: [], removed: [], newPolicy: rules({ muted: ["lea"] }) });
    assert.equal((await checkCommit(group(), muteLea(1), NOW)).refusal, PolicyRefusal.ONLY_FACILITATOR_CHANGES_RULES);
    assert.equal((await checkCommit(group(), muteLea(0), NOW)).refusal, undefined);
  });

  test("the group keeps someone to lead it", async () => {
    const nobody = { committerLeaf: 0, added: [], removed: [], newPolicy: rules({ roles: [] }) };
    assert.equal((await checkCommit(group(), nobody, NOW)).refusal, PolicyRefusal.NO_FACILITATOR_LEFT);
    const handOver = { committerLeaf: 0, added: [], removed: [], newPolicy: rules({ roles: [{ handle: "malik", role: Role.FACILITATOR }] }) };
    assert.equal((await checkCommit(group(), handOver, NOW)).refusal, undefined);
    // The only facilitator is removed in the commit that names them: nobody leads any more.
    const leaGoes = { committerLeaf: 0, added: [], removed: [{ leaf: 0, selfRequested: false }], newPolicy: rules({ muted: ["x"] }) };
    assert.equal((await checkCommit(group(), leaGoes, NOW)).refusal, PolicyRefusal.NO_FACILITATOR_LEFT);
    // A newcomer named facilitator in the same commit leads.
    const newcomer = { ...adds(0, "sacha"), newPolicy: rules({ roles: [{ handle: "sacha", role: Role.FACILITATOR }] }) };
    assert.equal((await checkCommit(group(), newcomer, NOW)).refusal, undefined);
  });

  test("a new group's first commit sets its rules, from its creator alone", async () => {
    const fresh = group({ policy: undefined, members: [{ handle: "lea", leaf: 0, kind: "peer", signatureKey: lea.publicKey }] });
    assert.equal((await checkCommit(fresh, adds(0, "malik"), NOW)).refusal, PolicyRefusal.FIRST_COMMIT_SETS_RULES);
    assert.equal((await checkCommit(fresh, { ...adds(0, "malik"), newPolicy: rules() }, NOW)).refusal, undefined);
    const two = group({ policy: undefined });
    assert.equal((await checkCommit(two, { ...adds(0, "sacha"), newPolicy: rules() }, NOW)).refusal, PolicyRefusal.FIRST_RULES_FROM_CREATOR);
  });
});

describe("account types", () => {
  const member = (handle, leaf, kind, key) => ({ handle, leaf, kind, signatureKey: key.publicKey });

  test("a member who stays at their leaf keeps their account type", () => {
    const before = [member("lea", 0, "peer", lea), member("dr.rossi", 1, "professional", malik)];
    assert.equal(accountTypeChange(before, before.map((m) => ({ ...m }))), undefined);
    // The professional's new leaf (an UpdatePath, say) dropped the mark: shown as a peer otherwise.
    const dropped = [member("lea", 0, "peer", lea), member("dr.rossi", 1, "peer", noor)];
    assert.equal(accountTypeChange(before, dropped), "dr.rossi");
    // A peer's leaf gaining the mark is refused as well.
    const gained = [member("lea", 0, "professional", lea), member("dr.rossi", 1, "professional", malik)];
    assert.equal(accountTypeChange(before, gained), "lea");
  });

  test("someone else at a freed leaf, or the same handle at another leaf, is not a change", () => {
    const before = [member("lea", 0, "peer", lea), member("dr.rossi", 1, "professional", malik)];
    assert.equal(accountTypeChange(before, [member("lea", 0, "peer", lea), member("sacha", 1, "peer", noor)]), undefined);
    assert.equal(accountTypeChange(before, [member("lea", 0, "peer", lea), member("dr.rossi", 2, "peer", noor)]), undefined);
  });
});

describe("proposals (checked before this client keeps or commits one)", () => {
  const member = (handle, leaf, kind, key) => ({ handle, leaf, kind, signatureKey: key.publicKey });

  test("an Update keeps the member's account, type and signature key", () => {
    const was = member("malik", 1, "peer", malik);
    assert.equal(leafChange(was, { ...was }), undefined);
    assert.equal(leafChange(was, { ...was, handle: "lea" }), PolicyRefusal.IDENTITY_CHANGED);
    assert.equal(leafChange(was, { ...was, kind: "professional" }), PolicyRefusal.ACCOUNT_TYPE_CHANGED);
    assert.equal(leafChange(was, { ...was, signatureKey: noor.publicKey }), PolicyRefusal.SIGNATURE_KEY_CHANGED);
    const g = group();
    assert.equal(checkProposal(g, 1, { type: "update", leaf: { ...was } }), undefined);
    assert.deepEqual(checkProposal(g, 1, { type: "update", leaf: { ...was, handle: "lea" } }), { refusal: PolicyRefusal.IDENTITY_CHANGED, who: "malik" });
    // Even a facilitator's own Update.
    assert.deepEqual(checkProposal(g, 0, { type: "update", leaf: member("lea", 0, "professional", lea) }), { refusal: PolicyRefusal.ACCOUNT_TYPE_CHANGED, who: "lea" });
  });

  test("who may propose to add, remove or change the group context", () => {
    const closed = group();
    const open = group({ policy: rules({ joinRule: JoinRule.OPEN_TO_PEERS, banned: ["exclu"] }) });
    assert.equal(checkProposal(closed, 1, { type: "remove", removed: 1 }), undefined);  // Leaving.
    assert.deepEqual(checkProposal(closed, 1, { type: "remove", removed: 0 }), { refusal: PolicyRefusal.ONLY_FACILITATOR_REMOVES });
    assert.equal(checkProposal(closed, 0, { type: "remove", removed: 1 }), undefined);
    assert.deepEqual(checkProposal(closed, 1, { type: "add", handle: "sacha", kind: "peer" }), { refusal: PolicyRefusal.ONLY_FACILITATOR_ADDS, who: "sacha" });
    assert.equal(checkProposal(closed, 0, { type: "add", handle: "sacha", kind: "peer" }), undefined);
    assert.equal(checkProposal(open, 1, { type: "add", handle: "sacha", kind: "peer" }), undefined);
    assert.deepEqual(checkProposal(open, 1, { type: "add", handle: "dr.rossi", kind: "professional" }), { refusal: PolicyRefusal.ONLY_FACILITATOR_ADDS_INVITED, who: "dr.rossi" });
    assert.deepEqual(checkProposal(open, 0, { type: "add", handle: "exclu", kind: "peer" }), { refusal: PolicyRefusal.BANNED, who: "exclu" });
    assert.deepEqual(checkProposal(closed, 1, { type: "groupContextExtensions" }), { refusal: PolicyRefusal.ONLY_FACILITATOR_CHANGES_RULES });
    assert.equal(checkProposal(closed, 0, { type: "groupContextExtensions" }), undefined);
    assert.deepEqual(checkProposal(closed, 5, { type: "remove", removed: 5 }), { refusal: PolicyRefusal.NOT_A_MEMBER });
  });

  test("proposal types the product does not use are refused, from anyone", () => {
    for (const g of [group(), group({ policy: undefined })]) {
      assert.deepEqual(checkProposal(g, 0, { type: "refused" }), { refusal: PolicyRefusal.PROPOSAL_TYPE_REFUSED, who: "lea" });
      assert.deepEqual(checkProposal(g, 0, { type: "credential" }), { refusal: PolicyRefusal.CREDENTIAL_UNSUPPORTED, who: "lea" });
    }
  });

  test("without rules (a direct conversation), nobody adds a stranger, removes another or changes the context", () => {
    const direct = group({ policy: undefined });
    assert.equal(checkProposal(direct, 1, { type: "add", handle: "malik", kind: "peer" }), undefined);  // Another device.
    assert.deepEqual(checkProposal(direct, 1, { type: "add", handle: "sacha", kind: "peer" }), { refusal: PolicyRefusal.ONLY_FACILITATOR_ADDS, who: "sacha" });
    assert.deepEqual(checkProposal(direct, 0, { type: "remove", removed: 1 }), { refusal: PolicyRefusal.ONLY_FACILITATOR_REMOVES });
    assert.deepEqual(checkProposal(direct, 0, { type: "groupContextExtensions" }), { refusal: PolicyRefusal.ONLY_FACILITATOR_CHANGES_RULES });
  });
});
