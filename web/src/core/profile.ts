// A group's name and description (its profile), which only members may read: carried in an
// encrypted application message (never in the group context, which the relay reads). A plaintext
// whose first byte is 0x00 is 0x00 || an encoded cercle.v1.AppContent; anything else is the text of
// a message (the C++ SDK, client/sdk/client_profile.cpp, reads and writes the same bytes). A profile
// is signed by a facilitator's leaf key over "cercle-profile-v1" || 0x00 || profile, so that any
// member who adds someone can hand it on and the newcomer checks it came from a facilitator.
// Loaded on demand (never in a visitor's first load); single-threaded.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { concat, equalBytes, utf8 } from "./bytes";
import * as groups from "./groups";
import * as mls from "./mls";
import { roleOf } from "./policy";
import { AppContentSchema, GroupProfileSchema, Role, SeanceSlotSchema, SignedGroupProfileSchema, type GroupProfile, type SignedGroupProfile } from "./proto";
import { sign, verify, type KeyHandle } from "./signer";

export const PROFILE_LABEL = "cercle-profile-v1";
export const MAX_NAME_BYTES = 80;
export const MAX_DESCRIPTION_BYTES = 1000;

/** What this device keeps of a group's profile (ConvMeta.profile): shown, and handed on to newcomers. */
export interface StoredProfile {
  name: string;
  description: string;
  version: number;
  /** The planned séances (seance-schedule.ts) and the zone weekly ones keep their hour in; absent in records kept before. */
  schedule?: { startMs: number; minutes: number; weekly: boolean }[];
  timeZone?: string;
  /** The encoded SignedGroupProfile, as received or made (sent again after an Add). */
  signed: Uint8Array;
}

/** An empty name, or a name or description over its limit (in UTF-8 bytes, as the C++ SDK counts them). */
export class ProfileRefused extends Error {
  constructor(readonly field: "name" | "description") {
    super(`a group's name takes 1 to ${MAX_NAME_BYTES} bytes and its description at most ${MAX_DESCRIPTION_BYTES} (${field})`);
    this.name = "ProfileRefused";
  }
}

/** The bytes a facilitator signs: "cercle-profile-v1" || 0x00 || profile. */
export function profileTranscript(encodedProfile: Uint8Array): Uint8Array {
  return concat(utf8(PROFILE_LABEL), Uint8Array.of(0), encodedProfile);
}

/** Whether a plaintext is typed content (0x00 || AppContent) rather than a message's text. */
export function isAppContent(plaintext: Uint8Array): boolean {
  return plaintext.length > 0 && plaintext[0] === 0;
}

/** The envelope of a signed profile: 0x00 || AppContent{profile}. */
export function envelope(signed: SignedGroupProfile): Uint8Array {
  return concat(Uint8Array.of(0), toBinary(AppContentSchema, create(AppContentSchema, { kind: { case: "profile", value: signed } })));
}

/** The signed profile an envelope holds; undefined for an unknown kind or unreadable bytes (ignored). */
export function openEnvelope(plaintext: Uint8Array): SignedGroupProfile | undefined {
  if (!isAppContent(plaintext)) return undefined;
  try {
    const content = fromBinary(AppContentSchema, plaintext.subarray(1));
    return content.kind.case === "profile" ? content.kind.value : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a name and description fit: the name 1 to 80 bytes, the description at most 1000 (client_profile.cpp fits()). */
export function fits(name: string, description: string): boolean {
  const n = utf8(name).length;
  return n > 0 && n <= MAX_NAME_BYTES && utf8(description).length <= MAX_DESCRIPTION_BYTES;
}

/** Throws ProfileRefused when a name or description does not fit. */
export function checkLengths(name: string, description: string): void {
  const n = utf8(name).length;
  if (n === 0 || n > MAX_NAME_BYTES) throw new ProfileRefused("name");
  if (utf8(description).length > MAX_DESCRIPTION_BYTES) throw new ProfileRefused("description");
}

/** Signs a profile of the group with this device's leaf key. */
export async function signProfile(
  key: KeyHandle,
  signer: string,
  fields: { conversationId: Uint8Array; name: string; description: string; version: number },
  keep?: StoredProfile,
  plan?: { schedule: { startMs: number; minutes: number; weekly: boolean }[]; timeZone: string },
): Promise<SignedGroupProfile> {
  checkLengths(fields.name, fields.description);
  // A rename keeps what else the profile held (the séance schedule), as the C++ SDK does.
  const before = keep ? fromBinary(GroupProfileSchema, signedOf(keep).profile) : undefined;
  const schedule = plan
    ? plan.schedule.map((s) => create(SeanceSlotSchema, { startMs: BigInt(s.startMs), durationMinutes: s.minutes, weekly: s.weekly }))
    : (before?.schedule ?? []);
  const timeZone = plan ? plan.timeZone : (before?.timeZone ?? "");
  const profile = create(GroupProfileSchema, { schedule, timeZone, ...fields, version: BigInt(fields.version) });
  const bytes = toBinary(GroupProfileSchema, profile);
  return create(SignedGroupProfileSchema, { profile: bytes, signature: await sign(key, profileTranscript(bytes)), signer });
}

/** Why a received profile is not taken (tests read it). */
export type ProfileRefusal = "unreadable" | "otherGroup" | "notFacilitator" | "signature" | "old";

/**
 * Checks a received profile against the group as this device holds it: its signer is a FACILITATOR
 * of the current rules, the signature verifies with a leaf key of the signer from this device's own
 * ratchet tree, it names this group, and its version is above the one held.
 */
export async function checkProfile(
  signed: SignedGroupProfile,
  state: mls.GroupStateHandle,
  conversationId: Uint8Array,
  held: StoredProfile | undefined,
): Promise<{ profile: GroupProfile } | { refusal: ProfileRefusal }> {
  let profile: GroupProfile;
  try {
    profile = fromBinary(GroupProfileSchema, signed.profile);
  } catch {
    return { refusal: "unreadable" };
  }
  if (!fits(profile.name, profile.description)) return { refusal: "unreadable" };
  if (!equalBytes(profile.conversationId, conversationId)) return { refusal: "otherGroup" };
  const rules = groups.rulesOf(state);
  if (!rules || roleOf(rules, signed.signer) !== Role.FACILITATOR) return { refusal: "notFacilitator" };
  const keys = mls.leaves(state).filter((l) => l.handle === signed.signer).map((l) => l.signatureKey);
  const transcript = profileTranscript(signed.profile);
  let valid = false;
  for (const k of keys) valid ||= await verify(k, transcript, signed.signature).catch(() => false);
  if (!valid) return { refusal: "signature" };
  if (held && profile.version <= BigInt(held.version)) return { refusal: "old" };
  return { profile };
}

/** What this device keeps of an accepted (or its own) profile. */
export function stored(signed: SignedGroupProfile, profile: GroupProfile = fromBinary(GroupProfileSchema, signed.profile)): StoredProfile {
  const schedule = profile.schedule.map((s) => ({ startMs: Number(s.startMs), minutes: s.durationMinutes, weekly: s.weekly }));
  return { name: profile.name, description: profile.description, version: Number(profile.version), schedule, timeZone: profile.timeZone, signed: toBinary(SignedGroupProfileSchema, signed) };
}

/** The signed profile kept on this device, decoded. */
export function signedOf(p: StoredProfile): SignedGroupProfile {
  return fromBinary(SignedGroupProfileSchema, p.signed);
}
