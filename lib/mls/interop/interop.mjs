// Interop test: cercle-mls-driver (C++) and ts-mls in the same groups, both directions.
// Usage: node interop.mjs <path to cercle-mls-driver>
import { Driver, hex, unhex } from "./driver_client.mjs";
import { TsMember } from "./ts_client.mjs";

let passed = 0;
let failed = 0;
function check(name, cond) {
  if (cond) passed++;
  else failed++;
  console.log(`${cond ? "ok  " : "FAIL"} ${name}`);
}
const te = (s) => new TextEncoder().encode(s);

async function agree(label, cpp, ts) {
  const a = await cpp.call("epoch_authenticator");
  check(`${label}: same epoch (${a.epoch})`, a.epoch === ts.epoch);
  check(`${label}: same epoch authenticator`, a.epoch_authenticator === hex(ts.epochAuthenticator));
  const ctx = te("interop context");
  const e = await cpp.call("export_secret", { label: "cercle test", context: hex(ctx), length: 32 });
  check(`${label}: same exported secret`, e.secret === hex(await ts.exportSecret("cercle test", ctx, 32)));
}

async function messagesBothWays(label, cpp, ts) {
  const fromCpp = await cpp.call("encrypt", { plaintext: hex(te("bonjour de C++")) });
  const got = await ts.process(unhex(fromCpp.message));
  check(`${label}: ts-mls decrypts C++ application message`, got && new TextDecoder().decode(got) === "bonjour de C++");
  const fromTs = await ts.encrypt(te("salut de ts-mls"));
  const dec = await cpp.call("decrypt", { message: hex(fromTs) });
  check(`${label}: C++ decrypts ts-mls application message`, Buffer.from(dec.plaintext, "hex").toString() === "salut de ts-mls");
}

async function cppCreatesGroup(driverPath) {
  const cpp = new Driver(driverPath);
  const bob = new TsMember("bob");
  const carol = new TsMember("carol");
  await cpp.call("create_group", { group_id: hex(te("cercle-interop-1")), identity: hex(te("alice")) });
  const add = await cpp.call("add", { key_package: hex(await bob.keyPackage()) });
  await bob.join(unhex(add.welcome));
  await agree("C++ creates, adds ts-mls", cpp, bob);
  await messagesBothWays("C++ group", cpp, bob);
  const c1 = await bob.commit();
  await cpp.call("process", { message: hex(c1.commit) });
  await agree("ts-mls commit processed by C++", cpp, bob);
  const c2 = await cpp.call("commit", {});
  await bob.process(unhex(c2.commit));
  await agree("C++ commit processed by ts-mls", cpp, bob);
  const c3 = await bob.add(await carol.keyPackage());
  await cpp.call("process", { message: hex(c3.commit) });
  await carol.join(c3.welcome);
  await agree("ts-mls adds a third member", cpp, carol);
  const dave = new TsMember("dave");
  const c4 = await cpp.call("add", { key_package: hex(await dave.keyPackage()) });
  await bob.process(unhex(c4.commit));
  await carol.process(unhex(c4.commit));
  await dave.join(unhex(c4.welcome));
  await agree("C++ adds a fourth member", cpp, dave);
  const members = await cpp.call("members");
  check("C++ lists four members", members.members.length === 4);
  const proposal = await bob.proposeRemove(2);
  await cpp.call("process", { message: hex(proposal) });
  await dave.process(proposal);
  const c5 = await cpp.call("commit", {});
  await bob.process(unhex(c5.commit));
  await dave.process(unhex(c5.commit));
  await agree("C++ commits a ts-mls Remove proposal by reference", cpp, bob);
  const c6 = await cpp.call("commit", { remove: [3] });
  await bob.process(unhex(c6.commit));
  await agree("C++ removes a member", cpp, bob);
  check("C++ lists two members", (await cpp.call("members")).members.length === 2);
  await messagesBothWays("after removal", cpp, bob);
  cpp.close();
}

async function tsCreatesGroup(driverPath) {
  const cpp = new Driver(driverPath);
  const dana = new TsMember("dana");
  await dana.createGroup(te("cercle-interop-2"));
  const kp = await cpp.call("create_key_package", { identity: hex(te("eve")) });
  const add = await dana.add(unhex(kp.key_package));
  await cpp.call("join", { welcome: hex(add.welcome) });
  await agree("ts-mls creates, adds C++", cpp, dana);
  await messagesBothWays("ts-mls group", cpp, dana);
  const c1 = await cpp.call("commit", {});
  await dana.process(unhex(c1.commit));
  await agree("C++ commit processed by ts-mls", cpp, dana);
  const c2 = await dana.commit();
  await cpp.call("process", { message: hex(c2.commit) });
  await agree("ts-mls commit processed by C++", cpp, dana);
  const update = await cpp.call("propose", {});
  await dana.process(unhex(update.proposal));
  const c3 = await dana.commit();
  await cpp.call("process", { message: hex(c3.commit) });
  await agree("ts-mls commits a C++ Update proposal", cpp, dana);
  await messagesBothWays("ts-mls group after commits", cpp, dana);
  cpp.close();
}

const driverPath = process.argv[2];
try {
  await cppCreatesGroup(driverPath);
  await tsCreatesGroup(driverPath);
} catch (e) {
  failed++;
  console.log(`FAIL exception: ${e.stack || e}`);
}
console.log(`interop: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
