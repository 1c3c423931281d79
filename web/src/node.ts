// Entry point of the node bundle (build-node/core.mjs) used by the tests: the same client core as
// the web page, with an in-memory store; the rules check (policy) for its unit tests; and test-only
// helpers that act as a group's facilitator (src/testing, never part of the page).
export { Messenger, PeerUnreachable, groupKey } from "./core/messenger";
export type { ChatMessage, ConnState, Thread } from "./core/messenger";
export { MemoryStore } from "./core/store";
export { RelayError, ConnectionLost } from "./core/wire";
export { ErrorCode } from "./core/proto";
export { authTranscript } from "./core/proto";
export * as policy from "./core/policy";
export * as seance from "./core/seance";
export * as seanceSchedule from "./core/seance-schedule";
export * as seanceWhen from "./ui/seance-when";
export * as proto from "./core/proto";
export * as facilitator from "./testing/facilitator";
export { create, fromBinary, fromJson, toBinary } from "@bufbuild/protobuf";
export { sign, generateKey } from "./core/signer";
export * as verify from "./core/verify";
export * as deviceChain from "./core/device-chain";
export * as devices from "./core/devices";
export * as reports from "./testing/reports";
