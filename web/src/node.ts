// Entry point of the node bundle (build-node/core.mjs) used by the tests: the same client core as
// the web page, with an in-memory store; and the rules check (policy) for its unit tests.
export { Messenger, PeerUnreachable } from "./core/messenger";
export type { ChatMessage, ConnState, Thread } from "./core/messenger";
export { MemoryStore } from "./core/store";
export { RelayError, ConnectionLost } from "./core/wire";
export { ErrorCode } from "./core/proto";
export { authTranscript } from "./core/proto";
export * as policy from "./core/policy";
export * as proto from "./core/proto";
export { create, fromBinary, toBinary } from "@bufbuild/protobuf";
export { sign, generateKey } from "./core/signer";
