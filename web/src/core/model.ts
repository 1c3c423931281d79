// What the client keeps and shows (the records in the store, the views the page reads) and the
// small helpers every part of the client shares. Plain types; used by messenger.ts and its parts.
import { randomHex } from "./bytes";
import type { GroupNotice, RosterEntry, RulesView, TrackedInvitation } from "./groups";
import type { Fail } from "./policy";
import type { StoredProfile } from "./profile";
import type { StoredSeance } from "./seance-view";
import { AccountType } from "./proto";
import type { KeyHandle } from "./signer";
import type { Store } from "./store";
import type { DeviceRecord, Verification } from "./verify";

export type ConnState = "connecting" | "online" | "offline" | "stopped";
export type Role = "helper" | "visitor";

export interface Account {
  handle: string;
  accountId: bigint;
  deviceId: bigint;
  instanceId: Uint8Array;
  device: KeyHandle;     // Authenticates this device to the relay.
  mlsKey: KeyHandle;     // Signs this device's MLS messages.
  mlsKeyId: Uint8Array;
  role: Role;
  createdMs: number;
  /** The account type the relay gave at the last sign-in (AccountType; absent in old records: a peer). */
  type?: number;
  /**
   * This device's report key: an X25519 private key (32 random bytes) that reports are sealed to;
   * its public key is in every leaf this device makes (0xF0A2). Added at load to older records.
   */
  reportKey?: Uint8Array;
}

export interface ConvMeta {
  id: string;              // Conversation id, hex.
  /**
   * The thread's key: in a direct conversation, the other account's handle (from the group's MLS
   * credentials once joined); in a group, "#" + id (no handle has a "#").
   */
  peer: string;
  processed: number;       // Every entry up to this seq is handled.
  above: [number, number][];  // Handled ranges (inclusive) above `processed`, sorted, apart.
  ready: boolean;          // This device holds the group's MLS state.
  unread: number;
  lastTime: number;
  createdMs: number;
  group?: boolean;         // A groupe de parole (the relay's word, checked against the MLS state).
  roster?: RosterEntry[];  // Group: who is in it, from the MLS state.
  rules?: RulesView;       // Group: what the member sees of its rules.
  invitations?: Record<string, TrackedInvitation>;  // Group: by nonce (hex).
  refused?: boolean;       // A commit that breaks the group's rules was refused (the group stayed).
  broken?: boolean;        // A change of the group could not be read.
  left?: boolean;          // This device was removed from the group.
  leaving?: boolean;       // This device asked to leave (its Remove proposal waits for a facilitator's commit).
  leavingEpoch?: number;   // The epoch of that proposal: a proposal lasts one epoch, so it is made again after.
  /** The thread was erased from this device when its last entry had this time: hidden until a newer one. */
  hiddenAt?: number;
  /** Proposals of this epoch refused by the rules (reference, base64 → why): never kept nor committed. */
  refusedProposals?: Record<string, Fail>;
  /** Every device of the conversation as its MLS leaves showed it last (a new one is announced). */
  devices?: DeviceRecord[];
  /** Fingerprints of devices that joined while their owner's signed chain did not list them. */
  unapproved?: string[];
  /** Group: its name and description, signed by a facilitator (profile.ts); kept here, so erasing the message that carried it loses nothing. */
  profile?: StoredProfile;
  /** Group: peers who asked to join (an open group), until they are members. */
  joinRequests?: string[];
  /** Group: the séance state built from the signed séance events this device accepted (seances.ts). */
  seance?: StoredSeance;
  /** Group, on a facilitator's device: reports opened and kept here, not yet closed (reports.ts). */
  reportsOpen?: number;
}

/** One person of a conversation: their devices (from the MLS leaves) and whether they were verified. */
export interface PersonView {
  handle: string;
  self: boolean;
  devices: string[];  // Fingerprints, one per device.
  unapproved: string[];  // Those of `devices` their owner's chain did not list when they joined.
  verification?: Verification;  // Not for oneself.
}

/** What two people compare to check that nobody sits between them (docs/safety-numbers.md). */
export interface SafetyView {
  handle: string;
  number: string;
  devices: string[];
  ownDevices: string[];
  verification: Verification;
}

export type MessageStatus = "pending" | "sent" | "received" | "failed" | "unreadable";

export interface ChatMessage {
  key: string;           // Store key: thread key (peer), NUL, local order.
  peer: string;          // The thread's key (see ConvMeta.peer).
  conv: string;          // "" until the conversation exists.
  seq: number;           // 0 until the relay accepted it.
  mine: boolean;
  sender: string;
  text: string;
  time: number;
  status: MessageStatus;
  payload?: Uint8Array;  // Own message already encrypted, not yet confirmed.
  epoch?: number;
  professional?: boolean;  // The sender's leaf says a professional account.
  event?: GroupNotice;     // Not a message: something that happened in the group.
  /** Why an own message was not sent: the relay's ErrorCode, or 0 when this device gave up on it
   * (no such person, a group this device is no longer in or cannot follow). */
  failCode?: number;
  reported?: boolean;      // This device's user reported it to the group's facilitators.
  adminReport?: string;    // Reported to the instance's admins: the report's number (decimal).
  adminAnswer?: string;    // The admins' answer to that report.
}

export interface Thread {
  peer: string;          // The thread's key.
  unread: number;
  lastTime: number;
  ready: boolean;
  group: boolean;
  members: string[];     // Group: the other members' handles.
  name?: string;         // Group: its name, from a facilitator's signed profile.
}

/** A group as its member sees it. */
export interface GroupView {
  roster: RosterEntry[];
  rules?: RulesView;
  refused: boolean;
  broken: boolean;
  left: boolean;
  leaving: boolean;        // Asked to leave; a facilitator's client has not committed it yet.
  invitations: Record<string, TrackedInvitation>;
  name?: string;           // From a facilitator's signed profile (profile.ts).
  description?: string;
  joinRequests: string[];  // Peers asking to join (an open group), not yet members.
}

/** An invitation to a group addressed to this account, not yet accepted. */
export interface PendingInvitation {
  id: string;            // The nonce, hex.
  conversation: string;  // Hex.
  inviter: string;
  professional: boolean;
  accompanying: string;
  charter: string;       // What the invitee accepts.
  expiresAtMs: number;
}

/** An invitation this account accepted, whose group has not added this device yet. */
export interface AcceptedInvitation {
  conversation: string;  // Hex.
  inviter: string;
}

/** The group has no facilitator device to report to (other than this one). */
export class NoFacilitator extends Error {}

/** This device is not (or no longer) a member of that group. */
export class NotInGroup extends Error {}

/** The thread key of a group. */
export function groupKey(id: string): string {
  return `#${id}`;
}

export interface MessengerOptions {
  url: string;
  store: Store;
  clientName?: string;
  /** Key packages kept on the relay (a last-resort one is added). */
  keyPackageStock?: number;
  /** This device's clock (tests move it; default Date.now). */
  now?: () => number;
}

/** The peer has no key package: nobody can start a conversation with them now. */
export class PeerUnreachable extends Error {}

/** The backup was made on another instance. */
export class OtherInstance extends Error {}


/** The MLS leaf kind of an account type (absent: a peer). */
export function accountKind(type: number | undefined): "peer" | "professional" {
  return type === AccountType.PROFESSIONAL ? "professional" : "peer";
}

let counter = 0;

/** A message's store key: its thread, then a local order by time (unique on this device). */
export function messageKey(peer: string, time: number): string {
  counter = (counter + 1) % 1_000_000;
  return `${peer}\u0000${String(time).padStart(15, "0")}:${String(counter).padStart(6, "0")}:${randomHex(4)}`;
}
