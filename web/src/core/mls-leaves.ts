// The members of an MLS group as this client reads them (mls.ts re-exports all of it): each leaf's
// handle (basic credentials only), signature key, account type (leaf extension 0xF0A1) and report
// key (0xF0A2), this
// device's leaf, the group's rules bytes (context extension 0xF0A0), and what a proposal does for
// the rules check (policy.ts). Pure functions over ts-mls states.
import type { ClientState, LeafNode, Proposal } from "ts-mls";
import { fromUtf8 } from "./bytes";
import { ACCOUNT_TYPE_EXTENSION, POLICY_EXTENSION, REPORT_KEY_EXTENSION, kindOfExtension, type ProposalFacts } from "./policy";

/** A member's leaf: who it is and what it declares. */
export interface Leaf {
  leaf: number;
  handle: string;         // "" when the credential is not a basic one (this product uses no other).
  basic: boolean;
  signatureKey: Uint8Array;
  professional: boolean;
  /** The device's report key (0xF0A2): undefined when the leaf has none, null when it is not 32 bytes. */
  reportKey?: Uint8Array | null;
}

/** A leaf node as the rules see it (a credential that is not basic names nobody: handle ""). */
export function memberOf(leaf: LeafNode, index: number): Leaf {
  const ext = leaf.extensions.find((e) => e.extensionType === ACCOUNT_TYPE_EXTENSION);
  const basic = leaf.credential.credentialType === "basic";
  const report = leaf.extensions.find((e) => e.extensionType === REPORT_KEY_EXTENSION)?.extensionData;
  return {
    leaf: index,
    handle: leaf.credential.credentialType === "basic" ? fromUtf8(leaf.credential.identity) : "",
    basic,
    signatureKey: leaf.signaturePublicKey,
    professional: kindOfExtension(ext?.extensionData) === "professional",
    reportKey: report === undefined ? undefined : report.length === 32 ? report : null,
  };
}

/** The member at a tree node (leaf `index`), if it is a leaf. */
export function leafOf(node: ClientState["ratchetTree"][number] | undefined, index: number): Leaf | undefined {
  return node?.nodeType === "leaf" ? memberOf(node.leaf, index) : undefined;
}

/** The handle leaf `leaf` names, if any. */
export function handleAt(state: ClientState, leaf: number): string | undefined {
  return leafOf(state.ratchetTree[leaf * 2], leaf)?.handle;
}

/** The group's members, one per leaf (an account with several devices has several). */
export function leaves(state: ClientState): Leaf[] {
  const out: Leaf[] = [];
  state.ratchetTree.forEach((node, i) => {
    if (i % 2 !== 0) return;  // Leaf i is node 2i.
    const l = leafOf(node, i / 2);
    if (l) out.push(l);
  });
  return out;
}

/** This device's leaf index. */
export function ownLeaf(state: ClientState): number {
  return state.privatePath.leafIndex;
}

/** The group's rules as stored in its context (encoded GroupPolicy), if it has them. */
export function policyBytes(state: ClientState): Uint8Array | undefined {
  return state.groupContext.extensions.find((e) => e.extensionType === POLICY_EXTENSION)?.extensionData;
}

/** The handles (credential identities) of the group's members. */
export function memberHandles(state: ClientState): string[] {
  const out: string[] = [];
  for (const node of state.ratchetTree) {
    if (node?.nodeType === "leaf" && node.leaf.credential.credentialType === "basic") {
      out.push(fromUtf8(node.leaf.credential.identity));
    }
  }
  return out;
}

/** What a proposal does, for the rules (policy.checkProposal). */
export function proposalFacts(proposal: Proposal, sender: number | undefined): ProposalFacts {
  switch (proposal.proposalType) {
    case "add": {
      const m = memberOf(proposal.add.keyPackage.leafNode, -1);
      if (!m.basic) return { type: "credential" };
      return { type: "add", handle: m.handle, kind: m.professional ? "professional" : "peer" };
    }
    case "update": {
      const m = memberOf(proposal.update.leafNode, sender ?? -1);
      if (!m.basic) return { type: "credential" };
      return { type: "update", leaf: { handle: m.handle, leaf: m.leaf, kind: m.professional ? "professional" : "peer", signatureKey: m.signatureKey } };
    }
    case "remove":
      return { type: "remove", removed: proposal.remove.removed };
    case "group_context_extensions":
      return { type: "groupContextExtensions" };
    default:
      return { type: "refused" };
  }
}
