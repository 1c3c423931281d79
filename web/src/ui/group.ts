// What a member sees of a groupe de parole: who is in it and with which role (a professional is
// always marked), each person's devices and verification, and the group's rules.
import type { GroupView, PersonView } from "../core/messenger";
import type { RosterEntry } from "../core/groups";
import { t } from "../i18n";
import { h } from "./dom";

function roleWords(r: RosterEntry): string[] {
  const out: string[] = [];
  if (r.role === "facilitator") out.push(t("roleFacilitator"));
  if (r.role === "invitedProfessional") out.push(t("roleInvitedPro"));
  else if (r.professional) out.push(t("rolePro"));
  if ((r.role === "invitedProfessional" || r.professional) && r.accompanying) out.push(t("roleAccompanies", { name: r.accompanying }));
  return out;
}

/** The address of the screen that verifies `handle` in the thread `peer`. */
export function verifyHref(peer: string, handle: string): string {
  return `#/v/${encodeURIComponent(peer)}/${encodeURIComponent(handle)}`;
}

/**
 * A person's devices and verification, in words: how many devices (from the group's MLS leaves, so
 * an extra device shows), each one's code on demand, and a link to verify them.
 */
function deviceWords(p: PersonView, peer: string): (HTMLElement | string)[] {
  const n = p.devices.length;
  const out: (HTMLElement | string)[] = [
    h(
      "p",
      { class: "devices-line" },
      h("span", { class: "devices-count" }, n === 1 ? t("devicesOne") : t("devicesMany", { n })),
      p.verification === "verified" ? [" ", h("span", { class: "tag verified" }, t("verifiedTag"))] : null,
      p.verification === "changed" ? [" ", h("span", { class: "tag reverify" }, t("verifyAgainTag"))] : null,
      p.unapproved.length ? [" ", h("span", { class: "tag reverify" }, t("unapprovedTag"))] : null,
    ),
  ];
  out.push(
    h(
      "details",
      { class: "devices", "data-key": `devices:${p.handle}` },
      h("summary", {}, p.self ? t("devicesShowMine") : t("devicesShow", { name: p.handle })),
      h("ul", {}, p.devices.map((code) => h("li", {}, t("deviceItem", { code }), p.unapproved.includes(code) ? ` (${t("unapprovedItem")})` : ""))),
    ),
  );
  if (!p.self) {
    out.push(h("p", { class: "verify-link" }, h("a", { href: verifyHref(peer, p.handle) }, t(p.verification === "changed" ? "verifyAgainLink" : "verifyLink", { name: p.handle }))));
  }
  return out;
}

/** The member list: each account once, with its role; professionals marked in words, not by colour only. */
export function rosterSection(view: GroupView, peer: string): HTMLElement {
  const pros = view.roster.filter((r) => r.professional || r.role === "invitedProfessional").map((r) => r.handle);
  return h(
    "section",
    { class: "roster", "aria-labelledby": "roster-title" },
    h("h2", { id: "roster-title", class: "sr-only" }, t("groupMembersTitle", { n: view.roster.length })),
    // Always in view, whether the list below is folded or not.
    pros.length ? h("p", { class: "warning-inline pro-notice" }, t(pros.length === 1 ? "groupProPresent" : "groupProPresentMany", { names: pros.join(", ") })) : null,
    h(
      "details",
      { class: "people", "data-key": "people" },
      h("summary", {}, t("groupMembersTitle", { n: view.roster.length })),
      h(
      "ul",
      { class: "members" },
      view.roster.map((r) => {
        const words = roleWords(r);
        const professional = r.professional || r.role === "invitedProfessional";
        return h(
          "li",
          { class: professional ? "member pro" : "member" },
          h(
            "p",
            { class: "person" },
            h("span", { class: "who" }, r.handle),
            r.self ? [" ", h("span", { class: "muted" }, `(${t("youTag")})`)] : null,
            words.length ? [" ", h("span", { class: professional ? "role tag pro" : "role tag" }, words.join(", "))] : null,
          ),
          deviceWords({ handle: r.handle, self: r.self, devices: r.devices ?? [], unapproved: r.unapproved ?? [], verification: r.verification }, peer),
        );
      }),
      ),
    ),
  );
}

/** A direct conversation's two people, with their devices and verification. */
export function peopleSection(people: PersonView[], peer: string): HTMLElement | null {
  if (!people.length) return null;
  return h(
    "section",
    { class: "roster", "aria-labelledby": "people-title" },
    h("h2", { id: "people-title", class: "sr-only" }, t("peopleTitle")),
    h(
      "details",
      { class: "people", "data-key": "people" },
      h("summary", {}, t("peopleShow")),
      h(
        "ul",
        { class: "members" },
        people.map((p) =>
          h("li", { class: "member" }, h("p", { class: "person" }, h("span", { class: "who" }, p.handle), p.self ? [" ", h("span", { class: "muted" }, `(${t("youTag")})`)] : null), deviceWords(p, peer)),
        ),
      ),
    ),
  );
}

/** The group's description, as its facilitator wrote it (only members read it). */
export function descriptionSection(view: GroupView): HTMLElement | null {
  return view.description ? h("p", { class: "group-description" }, view.description) : null;
}

/** The rules the member should know: the charter, how long messages are kept, who may join. */
export function rulesSection(view: GroupView): HTMLElement | null {
  const rules = view.rules;
  if (!rules) return null;
  const retention = rules.retentionDays
    ? rules.retentionDays === 1
      ? t("groupRetentionOne")
      : t("groupRetention", { n: rules.retentionDays })
    : t("groupKept");
  return h(
    "details",
    { class: "rules" },
    h("summary", {}, t("groupRulesTitle")),
    rules.charter ? [h("p", {}, h("strong", {}, t("groupCharter"))), h("p", { class: "charter" }, rules.charter)] : null,
    h("p", {}, retention),
    h("p", {}, rules.open ? t("groupOpen") : t("groupInviteOnly")),
    h("p", {}, rules.relatives ? t("groupRelatives") : t("groupNoRelatives")),
  );
}

/** Lasting notices about this member's place in the group (a muted member reads why in place of the box). */
export function stateNotices(view: GroupView): HTMLElement[] {
  const out: HTMLElement[] = [];
  if (view.left) out.push(h("p", { class: "warning-inline" }, t("groupLeftNotice")));
  else if (view.leaving) out.push(h("p", { class: "warning-inline" }, t("groupLeavingNotice")));
  if (view.refused) out.push(h("p", { class: "warning-inline" }, t("groupRefusedNotice")));
  if (view.broken) out.push(h("p", { class: "warning-inline" }, t("groupBrokenNotice")));
  return out;
}
