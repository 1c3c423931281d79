// A group's start as its creator tells the relay with the group's first commit (proto Commit.genesis,
// the same bytes as the C++ SDK's state_genesis): the epoch-0 GroupContext (RFC 9420 8.1) and ratchet
// tree (the ratchet_tree extension's body, 12.4.3.3), which the commit's signature covers, and the
// confirmed transcript hash once the commit is applied. From it the relay follows the group's public
// state and refuses any later proposal or commit whose signature is not its sender leaf's.
import type { ClientState } from "ts-mls";
import { encodeGroupContext } from "ts-mls/groupContext.js";
import { encodeRatchetTree } from "ts-mls/ratchetTree.js";

export interface Genesis {
  groupContext: Uint8Array;
  ratchetTree: Uint8Array;
  confirmedTranscriptHash: Uint8Array;
}

/** The genesis of a commit from `before` to `after`: only a group's first commit (epoch 0) has one. */
export function genesisOf(before: ClientState, after: ClientState): Genesis | undefined {
  if (before.groupContext.epoch !== 0n) return undefined;
  return {
    groupContext: encodeGroupContext(before.groupContext),
    ratchetTree: encodeRatchetTree(before.ratchetTree),
    confirmedTranscriptHash: after.groupContext.confirmedTranscriptHash,
  };
}
