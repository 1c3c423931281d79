// A facilitator's tools (src/core/facilitate.ts) and the group's profile (src/core/profile.ts) in the
// client core under node, against the real relay: a named group with its rules, adding by pseudonym,
// inviting a professional who is added once they accept (the automatic duties), roles, mutes,
// removal, bans, deletion for everyone, members' requests to leave and join requests committed by
// the duties. Each refusal of the client's own rules check is asserted by its code, with nothing sent
// (the epoch stays, on the facilitator and on a member after a round trip). The profile: signed by a
// facilitator, kept in the conversation's record (erasing the thread keeps it), handed to a
// newcomer by the adder; one signed by a plain member, or an older version, is ignored.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { facilitator as f, groupKey, MemoryStore, Messenger, proto } from "../build-node/core.mjs";
import { eventually, folderHolds, startServer } from "./support.mjs";

const Refusal = proto.PolicyRefusal;
let server;
const people = [];
let camille, sam, alex, lou, drMartin;
let id;

async function person(handle, code) {
  const m = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "cercle-test-facilitate", keyPackageStock: 4 });
  await m.register(handle, { code });
  assert.ok(await m.waitOnline(10_000));
  people.push(m);
  return m;
}

const texts = async (m, g = id) => (await f.groupMessages(m, g)).filter((x) => !x.event).map((x) => x.text);
const view = (m, g = id) => m.groupView(groupKey(g));
const handles = (m, g = id) => (view(m, g)?.roster ?? []).map((r) => r.handle).sort();

/** Asserts that `act` is refused by the client's own rules check with `code`, and nothing was sent. */
async function refusedLocally(act, code, g = id) {
  const before = await f.epoch(camille, g);
  await assert.rejects(act(), (e) => e instanceof f.PolicyRefused && e.refusal === code);
  assert.equal(await f.epoch(camille, g), before);
  // A round trip: a message sent after the refusal arrives, and the member's epoch did not move.
  const probe = `probe ${code} ${Date.now()}`;
  await camille.sendText(groupKey(g), probe);
  await eventually("the member reads the probe", async () => (await texts(sam, g)).includes(probe));
  assert.equal(await f.epoch(sam, g), before);
}

before(async () => {
  server = await startServer({ registration: "invite-code", codes: 6 });
  camille = await person("camille", server.codes[0]);
  sam = await person("sam", server.codes[1]);
  alex = await person("alex", server.codes[2]);
  lou = await person("lou", server.codes[3]);
  drMartin = await person("dr.martin", server.codes[4]);
  server.admin("account", "set-type", "dr.martin", "professional");
  drMartin.stop();
  drMartin.start();
  assert.ok(await drMartin.waitOnline(10_000));
  await eventually("dr.martin knows it is a professional", () => drMartin.professional);
  f.setDuties(camille, true);
});

after(async () => {
  for (const m of people) m.stop();
  await server?.stop();
});

test("a facilitator creates a named group with its rules; members read the name, description and rules", async () => {
  const fac = f.fac(camille);
  // A name must take 1 to 80 bytes (as the C++ SDK's): nothing is created otherwise.
  await assert.rejects(fac.createGroup({ name: "é".repeat(41) }), f.ProfileRefused);
  await assert.rejects(fac.createGroup({ name: "" }), f.ProfileRefused);
  assert.deepEqual(f.groupIds(camille), []);
  id = await fac.createGroup(
    { name: "Les Lucioles", description: "Un groupe pour parler du sommeil.", charter: "Ce qui se dit ici reste ici.", retentionDays: 30, relatives: true, objectionHours: 0 },
    ["sam"],
  );
  await eventually("sam reads the name", () => view(sam)?.name === "Les Lucioles");
  assert.equal(view(sam).description, "Un groupe pour parler du sommeil.");
  assert.deepEqual(f.profileOf(sam, id), { name: "Les Lucioles", description: "Un groupe pour parler du sommeil.", version: 1 });
  assert.equal(sam.threads().find((t) => t.peer === groupKey(id)).name, "Les Lucioles");
  const rules = view(sam).rules;
  assert.deepEqual([rules.charter, rules.retentionDays, rules.relatives, rules.open], ["Ce qui se dit ici reste ici.", 30, true, false]);
  assert.deepEqual((await texts(sam)), [], "the profile is not a message");
  // Kept in the conversation's record: erasing the thread's messages keeps the name.
  await sam.eraseThread(groupKey(id));
  assert.equal(view(sam).name, "Les Lucioles");
});

test("adding by pseudonym hands the newcomer the name; a banned peer and a professional without invitation are refused", async () => {
  await f.fac(camille).add(id, "alex");
  await eventually("alex reads the name", () => view(alex)?.name === "Les Lucioles");
  assert.deepEqual(handles(alex), ["alex", "camille", "sam"]);
  await f.fac(camille).editRules(id, (p) => p.banned.push("lou"));
  await refusedLocally(() => f.fac(camille).add(id, "lou"), Refusal.BANNED);
  await refusedLocally(() => f.fac(camille).add(id, "dr.martin"), Refusal.PROFESSIONAL_WITHOUT_INVITATION);
  await f.fac(camille).unban(id, "lou");
  await eventually("sam sees lou unbanned", async () => (await f.rulesOf(sam, id)).banned.length === 0);
});

test("a professional invited to accompany a member is added once they accept; a revoked invitation cannot be used", async () => {
  const fac = f.fac(camille);
  // Not said to be a professional: the account's type makes the invitation a professional's.
  const nonce = await fac.invite(id, "dr.martin", { accompanying: "sam" });
  assert.equal(view(camille).invitations[nonce].professional, true);
  await eventually("dr.martin has the invitation", () => drMartin.invitations().length === 1);
  assert.deepEqual([drMartin.invitations()[0].charter, drMartin.invitations()[0].accompanying], ["Ce qui se dit ici reste ici.", "sam"]);
  await drMartin.acceptInvitation(drMartin.invitations()[0].id);
  // Camille's client adds them on reading the acceptance (objection delay 0), then sends the name.
  await eventually("dr.martin added by the duties", () => view(drMartin)?.name === "Les Lucioles", 20_000);
  const pro = view(sam).roster.find((r) => r.handle === "dr.martin");
  assert.deepEqual([pro.role, pro.professional, pro.accompanying], ["invitedProfessional", true, "sam"]);
  assert.equal(view(camille).invitations[nonce].used, true);
  const other = await fac.invite(id, "lou");
  await fac.revoke(id, other);
  await eventually("camille sees the withdrawal", () => view(camille).invitations[other]?.revoked);
  await refusedLocally(() => fac.addInvited(id, other), Refusal.INVITATION_REVOKED);
  // An invitee who says no (DeclineInvitation): the invitation can no longer be used.
  const third = await fac.invite(id, "lou");
  await f.wireOf(lou).call({ case: "declineInvitation", value: { conversationId: Buffer.from(id, "hex"), nonce: Buffer.from(third, "hex") } }, "done");
  await eventually("camille sees the decline", () => view(camille).invitations[third]?.declined);
  await refusedLocally(() => fac.addInvited(id, third), Refusal.INVITATION_DECLINED);
});

test("the facilitator role is given and taken back; the last facilitator cannot give it up", async () => {
  const fac = f.fac(camille);
  await fac.setFacilitator(id, "sam", true);
  await eventually("sam is a facilitator", () => view(sam).roster.find((r) => r.self).role === "facilitator");
  await fac.setFacilitator(id, "sam", false);
  await eventually("sam is a member again", () => view(sam).roster.find((r) => r.self).role === "member");
  await refusedLocally(() => fac.setFacilitator(id, "camille", false), Refusal.NO_FACILITATOR_LEFT);
});

test("a muted member is told and the relay refuses their message; unmuted, they write again", async () => {
  await f.fac(camille).mute(id, "sam", true);
  await eventually("sam knows", () => view(sam).rules.mutedMe);
  const msg = await sam.sendText(groupKey(id), "Je peux parler ?");
  await eventually("refused", async () => (await f.groupMessages(sam, id)).find((x) => x.key === msg.key)?.status === "failed");
  await f.fac(camille).mute(id, "sam", false);
  await eventually("sam unmuted", () => !view(sam).rules.mutedMe);
  await sam.sendText(groupKey(id), "Merci.");
  await eventually("camille reads sam", async () => (await texts(camille)).includes("Merci."));
});

test("a message is deleted for everyone", async () => {
  await alex.sendText(groupKey(id), "À supprimer.");
  const target = await eventually("camille has it", async () => (await f.groupMessages(camille, id)).find((x) => x.text === "À supprimer." && x.seq > 0));
  await eventually("sam has it", async () => (await texts(sam)).includes("À supprimer."));
  await f.fac(camille).deleteEntry(id, target.seq);
  await eventually("gone from sam", async () => !(await texts(sam)).includes("À supprimer."));
  await eventually("gone from alex", async () => !(await texts(alex)).includes("À supprimer."));
});

test("a plain member's client refuses facilitator acts before sending anything", async () => {
  await assert.rejects(f.fac(sam).mute(id, "alex", true), (e) => e instanceof f.PolicyRefused && e.refusal === Refusal.ONLY_FACILITATOR_CHANGES_RULES);
  await assert.rejects(f.fac(sam).remove(id, "alex"), (e) => e instanceof f.PolicyRefused && e.refusal === Refusal.ONLY_FACILITATOR_REMOVES);
  await assert.rejects(f.fac(sam).add(id, "lou"), (e) => e instanceof f.PolicyRefused && e.refusal === Refusal.ONLY_FACILITATOR_ADDS);
});

test("a member is removed; a banned member is removed and cannot be added back until unbanned", async () => {
  const fac = f.fac(camille);
  await fac.remove(id, "alex");
  await eventually("alex left", () => view(alex).left);
  await fac.add(id, "alex");
  await eventually("alex back", () => handles(sam).includes("alex") && !view(alex).left);
  await fac.ban(id, "alex");
  await eventually("alex left again", () => view(alex).left);
  await eventually("sam sees alex gone", () => !handles(sam).includes("alex")).catch(async (e) => {
    console.log(JSON.stringify((await f.groupMessages(sam, id)).filter((x) => x.event).slice(-5).map((x) => x.event)));
    throw e;
  });
  assert.deepEqual((await f.rulesOf(sam, id)).banned, ["alex"]);
  await refusedLocally(() => fac.add(id, "alex"), Refusal.BANNED);
  await fac.unban(id, "alex");
  await fac.add(id, "alex");
  await eventually("alex back once unbanned", () => handles(sam).includes("alex"));
});

test("a profile signed by a plain member, or an older version, is ignored; a rename is read", async () => {
  await f.sendPlaintext(sam, id, await f.profileEnvelope(sam, id, "Piraté", 99));
  await f.sendPlaintext(camille, id, await f.profileEnvelope(camille, id, "Ancien nom", 1));
  await f.fac(camille).setProfile(id, "Les Lucioles du soir", "");
  await eventually("alex reads the rename", () => view(alex).name === "Les Lucioles du soir");
  assert.deepEqual(f.profileOf(alex, id), { name: "Les Lucioles du soir", description: "", version: 2 });
  assert.equal(f.profileOf(sam, id).version, 2);
  // An unknown kind of content is ignored; a text starting with U+0000 cannot be sent.
  await f.sendPlaintext(camille, id, Uint8Array.of(0, 0x7a, 0x01, 0x00));
  await assert.rejects(sam.sendText(groupKey(id), "\u0000hello"), RangeError);
  await camille.sendText(groupKey(id), "Après.");
  await eventually("alex reads after", async () => (await texts(alex)).includes("Après."));
  assert.equal(view(alex).name, "Les Lucioles du soir");
  assert.ok(!(await texts(alex)).some((t) => t.includes("Piraté") || t.startsWith("\u0000")));
});

test("a member's request to leave is committed by the duties; a peer asking to join an open group is admitted", async () => {
  // Removing someone whose own request to leave waits: one Remove of their leaf, not two.
  f.setDuties(camille, false);
  await alex.leaveGroup(groupKey(id));
  await eventually("camille holds alex's request", async () => (await f.leaving(camille, id)).length === 1);
  await f.fac(camille).remove(id, "alex");
  await eventually("alex removed", () => view(alex).left);
  f.setDuties(camille, true);
  await sam.leaveGroup(groupKey(id));
  await eventually("sam removed by camille's duties", () => view(sam).left, 20_000);
  const open = await f.fac(camille).createGroup({ name: "Ouvert", open: true }, []);
  f.setDuties(camille, false);
  await f.wireOf(lou).call({ case: "requestJoin", value: { conversationId: Buffer.from(open, "hex") } }, "done");
  await eventually("camille sees the request", () => view(camille, open).joinRequests.includes("lou"));
  await f.fac(camille).admit(open, "lou");
  await eventually("lou reads the name", () => view(lou, open)?.name === "Ouvert");
  assert.deepEqual(view(camille, open).joinRequests, []);
  f.setDuties(camille, true);
  await f.wireOf(sam).call({ case: "requestJoin", value: { conversationId: Buffer.from(open, "hex") } }, "done");
  await eventually("sam admitted by the duties", () => view(sam, open)?.name === "Ouvert", 20_000);
});

test("the group's name and description are nowhere in the relay's data folder; its charter (rules the relay reads) is", async () => {
  assert.equal(folderHolds(server.data, "Ce qui se dit ici reste ici."), true, "the scan finds what the relay keeps in clear");
  for (const secret of ["Les Lucioles", "Un groupe pour parler du sommeil.", "Piraté"]) assert.equal(folderHolds(server.data, secret), false, secret);
});
