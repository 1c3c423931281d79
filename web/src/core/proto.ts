// The wire protocol (generated from ../proto/cercle.proto), the groups' rules and events (from
// ../proto/policy.proto) and the signed authentication transcript.
export * from "../gen/cercle_pb";
export * from "../gen/policy_pb";
import { concat, utf8 } from "./bytes";

export const PROTOCOL_VERSION = 1;
const AUTH_LABEL = "cercle-auth-v1";

function short(bytes: Uint8Array): Uint8Array {
  const n = Math.min(bytes.length, 255);
  return concat(Uint8Array.of(n), bytes.subarray(0, n));
}

/**
 * The bytes a device signs to authenticate (proto/wire.cpp, auth_transcript):
 * "cercle-auth-v1" || 0x00 || u8 len || instance_id || u8 len || challenge || u32_be version.
 */
export function authTranscript(instanceId: Uint8Array, challenge: Uint8Array, version = PROTOCOL_VERSION): Uint8Array {
  const v = new Uint8Array(4);
  new DataView(v.buffer).setUint32(0, version >>> 0, false);
  return concat(utf8(AUTH_LABEL), Uint8Array.of(0), short(instanceId), short(challenge), v);
}
