// ts-mls side of the MLS benchmark (same scenarios as bench/mls/bench_main.cpp).
import {
  acceptAll, createApplicationMessage, createCommit, createGroup, defaultCapabilities,
  defaultLifetime, emptyPskIndex, generateKeyPackage, joinGroup, processMessage,
} from "ts-mls";
import { impl } from "./ts_client.mjs";

const cred = (name) => ({ credentialType: "basic", identity: new TextEncoder().encode(name) });
const kp = (name) => generateKeyPackage(cred(name), defaultCapabilities(), defaultLifetime, [], impl);

// Runs `op` until `seconds` have passed (at least 3 times); returns operations per second.
async function rate(seconds, op) {
  const start = performance.now();
  let n = 0;
  let elapsed = 0;
  do {
    await op();
    n++;
    elapsed = (performance.now() - start) / 1000;
  } while (elapsed < seconds || n < 3);
  return n / elapsed;
}

async function makeGroup(n) {
  const creatorKp = await kp("m0");
  const creator = await createGroup(new TextEncoder().encode("bench"), creatorKp.publicPackage,
    creatorKp.privatePackage, [], impl);
  const kps = [];
  for (let i = 1; i < n; i++) kps.push(await kp(`m${i}`));
  const proposals = kps.map((k) => ({ proposalType: "add", add: { keyPackage: k.publicPackage } }));
  const r = await createCommit({ state: creator, cipherSuite: impl },
    { extraProposals: proposals, wireAsPublicMessage: true, ratchetTreeExtension: true });
  const member = await joinGroup(r.welcome, kps[0].publicPackage, kps[0].privatePackage,
    emptyPskIndex, impl);
  return { creator: r.newState, member };
}

const commitOf = (state) => createCommit({ state, cipherSuite: impl }, { wireAsPublicMessage: true });

export async function runTsBench(sizes, seconds) {
  const out = {};
  out.key_package_create = await rate(seconds, () => kp("kp"));
  {
    const g = await makeGroup(2);
    const plaintext = new Uint8Array(100).fill(120);
    let sender = g.creator;
    const sent = [];
    out.app_encrypt = await rate(seconds, async () => {
      const r = await createApplicationMessage(sender, plaintext, impl);
      sender = r.newState;
      sent.push(r.privateMessage);
    });
    // Decrypt exactly the messages sent above, in order.
    let receiver = g.member;
    const start = performance.now();
    for (const privateMessage of sent) {
      const msg = { version: "mls10", wireformat: "mls_private_message", privateMessage };
      receiver = (await processMessage(msg, receiver, emptyPskIndex, acceptAll, impl)).newState;
    }
    out.app_decrypt = sent.length / ((performance.now() - start) / 1000);
  }
  for (const n of sizes) {
    const g = await makeGroup(n);
    out[`commit_with_path_${n}`] = await rate(seconds, () => commitOf(g.creator));
    const commit = (await commitOf(g.creator)).commit;
    out[`process_commit_${n}`] = await rate(seconds, () =>
      processMessage(commit, g.member, emptyPskIndex, acceptAll, impl));
  }
  return out;
}
