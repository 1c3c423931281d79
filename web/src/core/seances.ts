// Séances in the client (loaded on demand): each séance event the relay delivers is checked by
// seance.ts `apply` with this device's own facts (the leaves of its ratchet tree, the rules in
// force, the delivery's seq); a refused one is ignored (the caller warns) and the state stays. The
// actions of facilitators (rules, open, close, the floor) and members (a hand, the charter) sign an
// event with this device's leaf key and post it; on SEANCE_CONFLICT (another event came first) they
// wait for it to arrive and sign once more. Runs on the page's (or node's) single thread.
import { create, toBinary } from "@bufbuild/protobuf";
import { fromHex, toHex } from "./bytes";
import type { Context } from "./context";
import * as groups from "./groups";
import * as mls from "./mls";
import type { ChatMessage, ConvMeta } from "./model";
import { del, put, type Op } from "./store";
import {
  ErrorCode,
  Role,
  SeanceClosedSchema,
  SeanceEventSchema,
  SeanceFloorBackSchema,
  SeanceHandSchema,
  SeanceOpenedSchema,
  SeanceRulesSchema,
  SignedSeanceEventSchema,
  type SeanceEvent,
  type SignedSeanceEvent,
} from "./proto";
import { roleOf } from "./policy";
import type { Roster } from "./roster";
import type { Slot } from "./seance-schedule";
import * as s from "./seance";
import type { StoredSeance } from "./seance-view";
import { RelayError } from "./wire";

const APPLIED_WAIT_MS = 10_000;

/** Planning refused before anything is sent: the group has no name yet, or this account does not lead it. */
export class ScheduleRefused extends Error {
  constructor(readonly why: "unnamed" | "notFacilitator") {
    super(why === "unnamed" ? "name the group before planning its séances" : "only a facilitator plans the group's séances");
    this.name = "ScheduleRefused";
  }
}

export function load(stored: StoredSeance | undefined): s.SeanceState {
  if (!stored) return s.emptyState();
  return { ...stored, hands: new Set(stored.hands), confirmed: new Set(stored.confirmed) };
}

function save(state: s.SeanceState, openedMs: number): StoredSeance {
  return { ...state, hands: [...state.hands], confirmed: [...state.confirmed], openedMs };
}

/** The group as this device holds it, for the event that takes `seq`. */
export function factsOf(state: mls.GroupStateHandle, conversationId: Uint8Array, seq: number): s.Facts {
  const members = mls.leaves(state).map((l) => ({ handle: l.handle, leaf: l.leaf, kind: l.professional ? ("professional" as const) : ("peer" as const), signatureKey: l.signatureKey }));
  return { conversationId, policy: groups.rulesOf(state), members, seq };
}

/** Applies a delivered séance event to `meta.seance`; false: refused, nothing changed. */
export async function applyDelivered(meta: ConvMeta, signed: SignedSeanceEvent, state: mls.GroupStateHandle, seq: number, timeMs: number): Promise<boolean> {
  const facts = factsOf(state, fromHex(meta.id), seq);
  const before = load(meta.seance);
  const out = await s.apply(before, signed, facts);
  if (!out.state) return false;
  const opened = out.state.openId !== "" && out.state.openId !== meta.seance?.openId;
  const erasures = meta.seance?.erasures ?? [];
  const rules = facts.policy?.seances;
  if (s.isOpen(before) && !s.isOpen(out.state) && rules?.eraseAfter) {
    // Nothing kept: the séance's messages (between its opening and its closing) go at due time.
    erasures.push({ from: before.openSeq + 1, to: seq - 1, dueMs: timeMs + rules.eraseDelayMinutes * 60_000 });
  }
  meta.seance = { ...save(out.state, opened ? timeMs : out.state.openId ? (meta.seance?.openedMs ?? timeMs) : 0), erasures };
  return true;
}

/** Deletes this device's copies of closed séances' messages whose time came (by the relay's clock). */
export async function eraseDue(ctx: Context): Promise<void> {
  const now = ctx.serverNow();
  const ops: Op[] = [];
  for (const meta of ctx.convs.values()) {
    const due = (meta.seance?.erasures ?? []).filter((e) => e.dueMs <= now);
    if (!due.length) continue;
    for (const m of await ctx.store.list<ChatMessage>("messages", meta.peer + "\u0000")) {
      // Application messages only: the group's events stay (as the relay keeps them).
      if (m.conv === meta.id && !m.event && m.seq > 0 && due.some((e) => m.seq >= e.from && m.seq <= e.to)) ops.push(del("messages", m.key));
    }
    meta.seance!.erasures = meta.seance!.erasures!.filter((e) => !due.includes(e));
    ops.push(put("convs", meta.id, meta));
  }
  if (!ops.length) return;
  await ctx.exclusive(() => ctx.store.write(ops));
  ctx.changed();
}

export type SeanceAction =
  | { case: "opened"; plannedMinutes?: number }
  | { case: "closed" }
  | { case: "floorGiven"; handle: string }
  | { case: "floorBack" }
  | { case: "handRaised" }
  | { case: "handLowered"; handle?: string }
  | { case: "charterConfirmed" };

/** One device's séance actions in its groups. */
export class Seances {
  constructor(
    private readonly ctx: Context,
    private readonly roster: Roster,
  ) {}

  private meta(id: string): ConvMeta {
    const meta = this.ctx.convs.get(id);
    if (!meta?.ready || meta.left || !meta.group) throw new Error("not in this group");
    return meta;
  }

  /** Signs and posts one action; once more after a SEANCE_CONFLICT. Resolves once this device applied it. */
  async act(id: string, action: SeanceAction): Promise<void> {
    const head = this.meta(id).seance?.head ?? "";
    try {
      await this.postOnce(id, action);
    } catch (e) {
      if (!(e instanceof RelayError && e.code === ErrorCode.SEANCE_CONFLICT)) throw e;
      // Another event came first: read it (it is delivered), then sign anew on top of it.
      await this.until(id, (m) => (m.seance?.head ?? "") !== head);
      await this.postOnce(id, action);
    }
  }

  private async postOnce(id: string, action: SeanceAction): Promise<void> {
    const signed = await this.sign(id, action);
    await this.ctx.requireWire().call({ case: "postSeanceEvent", value: { conversationId: fromHex(id), signedEvent: toBinary(SignedSeanceEventSchema, signed) } }, "done");
    const mine = toHex(s.seanceHash(signed));
    await this.until(id, (m) => m.seance?.head === mine);
  }

  private async sign(id: string, action: SeanceAction): Promise<SignedSeanceEvent> {
    const meta = this.meta(id);
    const state = await this.ctx.group(id);
    const current = load(meta.seance);
    const me = this.ctx.account!.handle;
    const event: SeanceEvent = create(SeanceEventSchema, {
      conversationId: fromHex(id),
      seanceId: action.case === "opened" ? crypto.getRandomValues(new Uint8Array(s.SEANCE_ID_BYTES)) : fromHex(current.openId),
      previous: fromHex(current.head),
      author: me,
      timeMs: BigInt(Date.now()),
      kind: kindOf(action, me, groups.rulesOf(state)?.charter ?? ""),
    });
    return s.signSeanceEvent(this.ctx.account!.mlsKey, event);
  }

  private async until(id: string, done: (m: ConvMeta) => boolean): Promise<void> {
    const end = Date.now() + APPLIED_WAIT_MS;
    while (Date.now() < end) {
      const meta = this.ctx.convs.get(id);
      if (meta && done(meta)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("the séance event did not come back in time");
  }

  /** The group's planned séances and their zone (the profile's; empty before any). */
  schedule(id: string): { slots: Slot[]; zone: string } {
    const p = this.meta(id).profile;
    return { slots: p?.schedule ?? [], zone: p?.timeZone ?? "" };
  }

  /**
   * A facilitator plans the group's séances: a new signed profile (the name and description kept,
   * one version up) sent to the members, as the C++ SDK's set_seance_schedule does. A group with no
   * name yet is refused (ScheduleRefused), as there; so is a member who does not lead it.
   */
  async setSchedule(id: string, slots: Slot[], zone: string): Promise<void> {
    const meta = this.meta(id);
    const me = this.ctx.account!.handle;
    const rules = groups.rulesOf(await this.ctx.group(id));
    if (!rules || roleOf(rules, me) !== Role.FACILITATOR) throw new ScheduleRefused("notFacilitator");
    if (!meta.profile) throw new ScheduleRefused("unnamed");
    const profiles = await import("./profile");
    const fields = { conversationId: fromHex(id), name: meta.profile.name, description: meta.profile.description, version: meta.profile.version + 1 };
    const signed = await profiles.signProfile(this.ctx.account!.mlsKey, me, fields, meta.profile, { schedule: slots, timeZone: zone });
    meta.profile = profiles.stored(signed);
    await this.ctx.store.write([put("convs", id, meta)]);
    this.ctx.changed();
    await new (await import("./facilitate")).Facilitator(this.ctx, this.roster).sendProfile(id);
  }

  /** A facilitator sets the group's séance rules (a commit); `undefined` removes them. */
  async setRules(id: string, rules: { writeOnlyInSeance: boolean; turnTaking: boolean; eraseAfter: boolean; eraseDelayMinutes: number } | undefined): Promise<number> {
    const fac = new (await import("./facilitate")).Facilitator(this.ctx, this.roster);
    return fac.editRules(id, (p) => void (p.seances = rules && create(SeanceRulesSchema, rules)));
  }
}

function kindOf(action: SeanceAction, me: string, charter: string): SeanceEvent["kind"] {
  switch (action.case) {
    case "opened":
      return { case: "opened", value: create(SeanceOpenedSchema, { charterHash: s.charterHash(charter), plannedMinutes: action.plannedMinutes ?? 0 }) };
    case "closed":
      return { case: "closed", value: create(SeanceClosedSchema) };
    case "floorGiven":
      return { case: "floorGiven", value: action.handle };
    case "floorBack":
      return { case: "floorBack", value: create(SeanceFloorBackSchema) };
    case "handRaised":
      return { case: "handRaised", value: create(SeanceHandSchema) };
    case "handLowered":
      return { case: "handLowered", value: action.handle ?? me };
    case "charterConfirmed":
      return { case: "charterConfirmed", value: s.charterHash(charter) };
  }
}
