// An invited person says no (DeclineInvitation, attested by the relay): every member's thread reads
// one short, neutral line naming them ("lou a dit non à l'invitation."), and the invitation can no
// longer be used. Client core under node, real relay.
import assert from "node:assert/strict";
import { test } from "node:test";
import { facilitator as f, MemoryStore, Messenger } from "../build-node/core.mjs";
import { eventually, serverFor } from "./support.mjs";

async function person(t, server, handle, code) {
  const m = await Messenger.load({ url: server.ws, store: new MemoryStore(), clientName: "cercle-test-declined", keyPackageStock: 3 });
  t.after(() => m.stop());
  await m.register(handle, { code });
  assert.ok(await m.waitOnline(10_000));
  return m;
}

test("a declined invitation is one neutral line in every member's thread", async (t) => {
  const server = await serverFor(t, { registration: "invite-code", codes: 3 });
  const camille = await person(t, server, "camille", server.codes[0]);
  const sam = await person(t, server, "sam", server.codes[1]);
  const lou = await person(t, server, "lou", server.codes[2]);
  const id = await eventually("the group is created", () => f.createGroup(camille, { charter: "Ce qui se dit ici reste ici." }, ["sam"]).catch(() => null), 30_000);
  const nonce = await f.fac(camille).invite(id, "lou");
  await eventually("lou has the invitation", () => lou.invitations().length === 1);
  await lou.declineInvitation(lou.invitations()[0].id);
  const declined = async (m) => (await f.groupMessages(m, id)).filter((x) => x.event?.type === "declined").map((x) => x.event);
  for (const m of [camille, sam]) {
    await eventually("the member reads the decline", async () => (await declined(m)).length === 1);
    assert.deepEqual(await declined(m), [{ type: "declined", invitee: "lou", professional: false }]);
  }
  assert.equal(camille.groupView(`#${id}`).invitations[nonce].declined, true);
});
