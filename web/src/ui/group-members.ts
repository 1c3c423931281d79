// The lists of the group admin screen (group-admin.ts): members with their roles, account type (a
// professional always marked) and devices, and what a facilitator does to each (role, mute, remove,
// ban); invitations and what became of them; requests to come in (admitted in one click); banned
// people. Each act that takes something away asks one plain question first.
import type { Facilitator } from "../core/facilitate";
import type { RosterEntry } from "../core/groups";
import type { GroupView } from "../core/messenger";
import { Role, type GroupPolicy } from "../core/proto";
import { ft } from "../i18n-facilitator";
import { busy } from "./common";
import { h } from "./dom";
import { actionError } from "./group-forms";
import { confirmed } from "./thread-actions";

/** What the lists need: the tools, the group, and where to say what happened. */
export interface AdminContext {
  f: Facilitator;
  id: string;
  say(text: string): void;
}

/** Runs an act, then says it is done (or why not). Returns whether it worked. */
async function run(a: AdminContext, work: () => Promise<unknown>, done: string, name: string): Promise<boolean> {
  try {
    await work();
    a.say(done);
    return true;
  } catch (err) {
    a.say(actionError(err, name));
    return false;
  }
}

/** A button that acts at once (giving something back: unmute, unban, admit). */
function plain(a: AdminContext, label: string, work: () => Promise<unknown>, done: string, name: string): HTMLElement {
  const button = h("button", { type: "button", class: "secondary" }, label);
  button.addEventListener("click", () => void busy(button, async () => void (await run(a, work, done, name))));
  return h("p", {}, button);
}

/** A button that asks first (something is taken away). */
function asked(a: AdminContext, label: string, question: string, work: () => Promise<unknown>, done: string, name: string): HTMLElement {
  return confirmed({ label, yes: ft("yes"), no: ft("no"), ask: () => [h("p", { class: "notice" }, question)], act: () => run(a, work, done, name) });
}

function memberWords(r: RosterEntry, policy: GroupPolicy): string[] {
  const words: string[] = [];
  if (r.self) words.push(ft("memberYou"));
  if (r.role === "facilitator") words.push(ft("memberFacilitator"));
  if (r.professional || r.role === "invitedProfessional") words.push(ft("memberPro"));
  if (r.accompanying) words.push(ft("memberAccompanies", { name: r.accompanying }));
  if (policy.muted.includes(r.handle)) words.push(ft("memberMuted"));
  words.push(ft("memberDevices", { n: r.devices.length }));
  return words;
}

function memberActions(a: AdminContext, r: RosterEntry, policy: GroupPolicy): HTMLElement[] {
  const name = r.handle;
  const out: HTMLElement[] = [];
  const lead = r.role === "facilitator";
  // The only facilitator cannot give the role up (a group needs one): no button that would be refused.
  const alone = lead && policy.roles.filter((g) => g.role === Role.FACILITATOR).length === 1;
  if (!r.professional && r.role !== "invitedProfessional" && !alone) {
    out.push(
      lead
        ? asked(a, ft("takeRole", { name }), ft("takeRoleAsk", { name }), () => a.f.setFacilitator(a.id, name, false), ft("takeRoleDone", { name }), name)
        : asked(a, ft("giveRole", { name }), ft("giveRoleAsk", { name }), () => a.f.setFacilitator(a.id, name, true), ft("giveRoleDone", { name }), name),
    );
  }
  if (r.self) return out;
  out.push(
    policy.muted.includes(name)
      ? plain(a, ft("unmuteButton", { name }), () => a.f.mute(a.id, name, false), ft("unmuteDone", { name }), name)
      : asked(a, ft("muteButton", { name }), ft("muteAsk", { name }), () => a.f.mute(a.id, name, true), ft("muteDone", { name }), name),
    asked(a, ft("removeButton", { name }), ft("removeAsk", { name }), () => a.f.remove(a.id, name), ft("removeDone", { name }), name),
    asked(a, ft("banButton", { name }), ft("banAsk", { name }), () => a.f.ban(a.id, name), ft("banDone", { name }), name),
  );
  return out;
}

export function membersSection(a: AdminContext, view: GroupView, policy: GroupPolicy): HTMLElement {
  return h(
    "section",
    { "aria-labelledby": "admin-members" },
    h("h2", { id: "admin-members" }, ft("membersTitle", { n: view.roster.length })),
    h(
      "ul",
      { class: "members" },
      view.roster.map((r) => {
        const pro = r.professional || r.role === "invitedProfessional";
        return h(
          "li",
          { class: pro ? "member pro" : "member" },
          h("p", { class: "person" }, h("span", { class: "who" }, r.handle), " ", h("span", { class: pro ? "role tag pro" : "role tag" }, memberWords(r, policy).join(", "))),
          memberActions(a, r, policy),
        );
      }),
    ),
  );
}

function invitationLine(t: GroupView["invitations"][string]): string {
  const name = t.invitee;
  if (t.used) return ft("invUsed", { name });
  if (t.revoked) return ft("invRevoked", { name });
  if (t.declined) return ft("invDeclined", { name });
  if (t.objected) return ft("invObjected", { name });
  if (t.expiresAtMs !== undefined && t.expiresAtMs <= Date.now()) return ft("invExpired", { name });
  if (t.accepted) return ft(t.professional ? "invAcceptedPro" : "invAccepted", { name });
  return ft("invWaiting", { name });
}

export function invitationsSection(a: AdminContext, view: GroupView): HTMLElement {
  const list = Object.entries(view.invitations).filter(([, t]) => t.invitee);
  return h(
    "section",
    { "aria-labelledby": "admin-invitations" },
    h("h2", { id: "admin-invitations" }, ft("invitationsTitle")),
    list.length === 0
      ? h("p", { class: "muted" }, ft("invitationsNone"))
      : h(
          "ul",
          { class: "plain-list" },
          list.map(([nonce, t]) => {
            const open = !t.used && !t.revoked && !t.declined && !(t.expiresAtMs !== undefined && t.expiresAtMs <= Date.now());
            const name = t.invitee;
            return h(
              "li",
              {},
              h("p", {}, invitationLine(t), t.professional ? [" ", h("span", { class: "tag pro" }, ft("invProTag"))] : null),
              open ? asked(a, ft("revokeButton", { name }), ft("revokeAsk", { name }), () => a.f.revoke(a.id, nonce), ft("revokeDone", { name }), name) : null,
            );
          }),
        ),
  );
}

export function requestsSection(a: AdminContext, view: GroupView): HTMLElement {
  return h(
    "section",
    { "aria-labelledby": "admin-requests" },
    h("h2", { id: "admin-requests" }, ft("requestsTitle")),
    view.joinRequests.length === 0
      ? h("p", { class: "muted" }, ft("requestsNone"))
      : h(
          "ul",
          { class: "plain-list" },
          view.joinRequests.map((name) => h("li", {}, h("p", {}, ft("requestAsks", { name })), plain(a, ft("admitButton", { name }), () => a.f.admit(a.id, name), ft("admitDone", { name }), name))),
        ),
  );
}

export function bannedSection(a: AdminContext, policy: GroupPolicy): HTMLElement {
  return h(
    "section",
    { "aria-labelledby": "admin-banned" },
    h("h2", { id: "admin-banned" }, ft("bannedTitle")),
    policy.banned.length === 0
      ? h("p", { class: "muted" }, ft("bannedNone"))
      : h(
          "ul",
          { class: "plain-list" },
          policy.banned.map((name) => h("li", {}, h("p", {}, name), plain(a, ft("unbanButton", { name }), () => a.f.unban(a.id, name), ft("unbanDone", { name }), name))),
        ),
  );
}
