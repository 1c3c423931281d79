// A ts-mls member with the same operations as the driver (suite 3, commits as PublicMessage).
import {
  acceptAll, createApplicationMessage, createCommit, createGroup, createProposal, decodeMlsMessage,
  defaultCapabilities, defaultLifetime, emptyPskIndex, encodeMlsMessage, generateKeyPackage,
  getCiphersuiteFromName, getCiphersuiteImpl, joinGroup, mlsExporter, processMessage,
} from "ts-mls";

export const impl = await getCiphersuiteImpl(
  getCiphersuiteFromName("MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519"));

const enc = (m) => encodeMlsMessage({ version: "mls10", ...m });
const dec = (bytes) => {
  const d = decodeMlsMessage(bytes, 0);
  if (!d) throw new Error("ts-mls could not decode the message");
  return d[0];
};

export class TsMember {
  constructor(name) {
    this.credential = { credentialType: "basic", identity: new TextEncoder().encode(name) };
  }
  async keyPackage() {
    this.kp = await generateKeyPackage(this.credential, defaultCapabilities(), defaultLifetime, [], impl);
    return enc({ wireformat: "mls_key_package", keyPackage: this.kp.publicPackage });
  }
  async createGroup(groupId) {
    await this.keyPackage();
    this.state = await createGroup(groupId, this.kp.publicPackage, this.kp.privatePackage, [], impl);
  }
  async join(welcomeBytes) {
    const w = dec(welcomeBytes);
    this.state = await joinGroup(w.welcome, this.kp.publicPackage, this.kp.privatePackage, emptyPskIndex, impl);
  }
  async commit(proposals = []) {
    const r = await createCommit({ state: this.state, cipherSuite: impl },
      { extraProposals: proposals, wireAsPublicMessage: true, ratchetTreeExtension: true });
    this.state = r.newState;
    return { commit: encodeMlsMessage(r.commit),
      welcome: r.welcome && enc({ wireformat: "mls_welcome", welcome: r.welcome }) };
  }
  async add(kpBytes) {
    const kp = dec(kpBytes);
    return this.commit([{ proposalType: "add", add: { keyPackage: kp.keyPackage } }]);
  }
  async remove(leaf) {
    return this.commit([{ proposalType: "remove", remove: { removed: leaf } }]);
  }
  async proposeRemove(leaf) {
    const r = await createProposal(this.state, true, { proposalType: "remove", remove: { removed: leaf } }, impl);
    this.state = r.newState;
    return encodeMlsMessage(r.message);
  }
  async encrypt(plaintext) {
    const r = await createApplicationMessage(this.state, plaintext, impl);
    this.state = r.newState;
    return enc({ wireformat: "mls_private_message", privateMessage: r.privateMessage });
  }
  async process(bytes) {
    const r = await processMessage(dec(bytes), this.state, emptyPskIndex, acceptAll, impl);
    this.state = r.newState;
    return r.kind === "applicationMessage" ? r.message : undefined;
  }
  get epoch() { return Number(this.state.groupContext.epoch); }
  get epochAuthenticator() { return this.state.keySchedule.epochAuthenticator; }
  exportSecret(label, context, length) {
    return mlsExporter(this.state.keySchedule.exporterSecret, label, context, length, impl);
  }
}
