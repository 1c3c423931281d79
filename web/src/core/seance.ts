// Séances (a groupe de parole's meetings): the state built from the group's signed séance events
// and the gates it puts on messages, checked by this client as the relay and the C++ clients check
// them (lib/policy/seance.cpp is the reference; this is a port written from it, not generated; both
// answer lib/policy/seance_cases.json alike). Each event is signed by its author's leaf key over
// "cercle-seance-v1" || 0x00 || event and names the hash of the group's previous one, so a relay
// can only withhold events, never forge, replay, reorder or insert one.
//
// Decisions: facilitators are exempt from every gate; while the floor is nobody's, everyone
// writes; a member confirms the charter in force (its SHA-256) once per séance before writing; the
// floor of a handle no longer a member is nobody's; a group whose charter is empty asks no
// confirmation. Pure functions over plain values; signature checks are the only asynchronous part.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { sha256 } from "@noble/hashes/sha2.js";
import { concat, equalBytes, toHex, utf8 } from "./bytes";
import { roleOf, type Member, type VerifyFn } from "./policy";
import {
  Role,
  SeanceEventSchema,
  SeanceRefusal,
  SignedSeanceEventSchema,
  type GroupPolicy,
  type SeanceEvent,
  type SignedSeanceEvent,
} from "./proto";
import { sign, verify, type KeyHandle } from "./signer";

export const SEANCE_LABEL = "cercle-seance-v1";
export const SEANCE_ID_BYTES = 16;

/** What the group's séance events so far add up to. An empty `openId`: no séance is open. */
export interface SeanceState {
  head: string;            // Hex of the last accepted event's seanceHash; "" before the first.
  openId: string;          // Hex of the open séance's seance_id.
  openSeq: number;         // Log seq of the last `opened` (kept after closing).
  floor: string;           // Handle holding the floor; "": nobody's.
  hands: Set<string>;      // Handles with a raised hand.
  confirmed: Set<string>;  // Handles that confirmed the charter in this séance.
}

/** The group as the event finds it. */
export interface Facts {
  conversationId: Uint8Array;
  policy?: GroupPolicy;  // The rules in force (roles, charter, séance rules).
  members: Member[];     // Every leaf: handle and signature key.
  seq: number;           // The log seq the event takes (becomes openSeq at `opened`).
}

export type Gate = "allowed" | "outsideSeance" | "floorElsewhere" | "charterUnconfirmed";

/** Either the state after the event, or why it is refused (never UNSPECIFIED). */
export type Applied = { state: SeanceState; refusal?: undefined } | { state?: undefined; refusal: SeanceRefusal };

export function emptyState(): SeanceState {
  return { head: "", openId: "", openSeq: 0, floor: "", hands: new Set(), confirmed: new Set() };
}

export function isOpen(state: SeanceState): boolean {
  return state.openId !== "";
}

/** SHA-256 of a charter, as an opening and a confirmation name it. */
export function charterHash(charter: string): Uint8Array {
  return sha256(utf8(charter));
}

/** "cercle-seance-v1" || 0x00 || encoded event: the bytes an author signs. */
export function seanceTranscript(encodedEvent: Uint8Array): Uint8Array {
  return concat(utf8(SEANCE_LABEL), Uint8Array.of(0), encodedEvent);
}

/** SHA-256 of the SignedSeanceEvent's encoding: what the next event names as `previous`. */
export function seanceHash(signed: SignedSeanceEvent): Uint8Array {
  return sha256(toBinary(SignedSeanceEventSchema, signed));
}

/** Signs an event with this device's leaf key. */
export async function signSeanceEvent(key: KeyHandle, event: SeanceEvent): Promise<SignedSeanceEvent> {
  const encoded = toBinary(SeanceEventSchema, event);
  return create(SignedSeanceEventSchema, { event: encoded, signature: await sign(key, seanceTranscript(encoded)) });
}

const isMember = (facts: Facts, handle: string) => facts.members.some((m) => m.handle === handle);

// An event says what it does; an opening names its séance; a lowered hand names whose.
function read(bytes: Uint8Array): SeanceEvent | undefined {
  let e: SeanceEvent;
  try {
    e = fromBinary(SeanceEventSchema, bytes);
  } catch {
    return undefined;
  }
  switch (e.kind.case) {
    case undefined:
      return undefined;
    case "opened":
      return e.seanceId.length === SEANCE_ID_BYTES ? e : undefined;
    case "handLowered":
      return e.kind.value !== "" ? e : undefined;
    default:
      return e;
  }
}

// Any of the author's devices may have signed it; a handle with no leaf is no member.
async function checkAuthor(facts: Facts, signed: SignedSeanceEvent, author: string, verifyFn: VerifyFn): Promise<SeanceRefusal | undefined> {
  if (!isMember(facts, author)) return SeanceRefusal.NOT_A_MEMBER;
  if (signed.signature.length !== 64) return SeanceRefusal.SIGNATURE;
  const transcript = seanceTranscript(signed.event);
  for (const m of facts.members) {
    if (m.handle !== author || m.signatureKey.length !== 32) continue;
    try {
      if (await verifyFn(m.signatureKey, transcript, signed.signature)) return undefined;
    } catch {
      // A key WebCrypto will not import verifies nothing.
    }
  }
  return SeanceRefusal.SIGNATURE;
}

// Facilitators lead the séance; any member raises or lowers their own hand and confirms the charter.
function needsFacilitator(e: SeanceEvent): boolean {
  switch (e.kind.case) {
    case "handRaised":
    case "charterConfirmed":
      return false;
    case "handLowered":
      return e.kind.value !== e.author;
    default:
      return true;
  }
}

// `opened` outside a séance, everything else inside the open one; then the event's own content.
function checkMomentAndContent(state: SeanceState, e: SeanceEvent, facts: Facts, policy: GroupPolicy): SeanceRefusal | undefined {
  if (e.kind.case === "opened") {
    if (isOpen(state)) return SeanceRefusal.ALREADY_OPEN;
  } else if (!isOpen(state)) {
    return SeanceRefusal.NOT_OPEN;
  } else if (toHex(e.seanceId) !== state.openId) {
    return SeanceRefusal.OTHER_SEANCE;
  }
  const inForce = charterHash(policy.charter);
  if (e.kind.case === "opened" && !equalBytes(e.kind.value.charterHash, inForce)) return SeanceRefusal.CHARTER;
  if (e.kind.case === "charterConfirmed" && !equalBytes(e.kind.value, inForce)) return SeanceRefusal.CHARTER;
  if (e.kind.case === "floorGiven" && !isMember(facts, e.kind.value)) return SeanceRefusal.FLOOR_TO_NON_MEMBER;
  return undefined;
}

function nextState(s: SeanceState, e: SeanceEvent, facts: Facts): SeanceState {
  const next: SeanceState = { ...s, hands: new Set(s.hands), confirmed: new Set(s.confirmed) };
  switch (e.kind.case) {
    case "opened":
      return { ...emptyState(), openId: toHex(e.seanceId), openSeq: facts.seq };
    case "closed":
      return { ...emptyState(), openSeq: s.openSeq };
    case "floorGiven":
      next.floor = e.kind.value;
      next.hands.delete(e.kind.value);
      break;
    case "floorBack":
      next.floor = "";
      break;
    case "handRaised":
      next.hands.add(e.author);
      break;
    case "handLowered":
      next.hands.delete(e.kind.value);
      break;
    case "charterConfirmed":
      next.confirmed.add(e.author);
      break;
  }
  return next;
}

/**
 * Applies one signed event, with the checks of lib/policy/seance.h in the same order: readable;
 * conversation; author a member whose leaf signed it; previous == head; séance rules; role; the
 * moment (open or not, which séance); the floor to a member; the charter in force.
 */
export async function apply(state: SeanceState, signed: SignedSeanceEvent, facts: Facts, verifyFn: VerifyFn = verify): Promise<Applied> {
  const e = read(signed.event);
  if (!e) return { refusal: SeanceRefusal.UNREADABLE };
  if (!equalBytes(e.conversationId, facts.conversationId)) return { refusal: SeanceRefusal.OTHER_GROUP };
  const author = await checkAuthor(facts, signed, e.author, verifyFn);
  if (author !== undefined) return { refusal: author };
  if (toHex(e.previous) !== state.head) return { refusal: SeanceRefusal.PREVIOUS };
  const policy = facts.policy;
  if (!policy?.seances) return { refusal: SeanceRefusal.NO_RULES };
  if (needsFacilitator(e) && roleOf(policy, e.author) !== Role.FACILITATOR) return { refusal: SeanceRefusal.ONLY_FACILITATOR };
  const why = checkMomentAndContent(state, e, facts, policy);
  if (why !== undefined) return { refusal: why };
  return { state: { ...nextState(state, e, facts), head: toHex(seanceHash(signed)) } };
}

/** The message gates, in this order, for `handle` (muting is checked apart, policy.isMuted). */
export function mayWrite(state: SeanceState, facts: Facts, handle: string): Gate {
  const policy = facts.policy;
  const rules = policy?.seances;
  if (!policy || !rules || roleOf(policy, handle) === Role.FACILITATOR) return "allowed";
  if (rules.writeOnlyInSeance && !isOpen(state)) return "outsideSeance";
  // A floor held by someone who left the group is nobody's.
  if (rules.turnTaking && state.floor !== "" && state.floor !== handle && isMember(facts, state.floor)) return "floorElsewhere";
  if (isOpen(state) && policy.charter !== "" && !state.confirmed.has(handle)) return "charterUnconfirmed";
  return "allowed";
}
