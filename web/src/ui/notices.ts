// Group events and thread names in words: what the shell announces and the conversation list shows
// (in the first load; the member list and rules are in group.ts, loaded with the conversation).
import type { Thread } from "../core/messenger";
import type { GroupNotice } from "../core/groups";
import { refusalKey } from "../core/policy";
import { t, type Key } from "../i18n";

/** A list of names in words: "a, b and 3 others". */
function names(list: string[], max = 4): string {
  if (list.length <= max) return list.join(", ");
  return t("groupAndOthers", { names: list.slice(0, max).join(", "), n: list.length - max });
}

export function threadTitle(th: Thread): string {
  if (!th.group) return th.peer;
  if (th.name) return th.name;  // Its facilitator's signed profile (profile.ts).
  return th.members.length ? t("groupThread", { names: names(th.members) }) : t("groupThreadAlone");
}

/** The sentence for a group event, in the page's language. */
export function noticeText(n: GroupNotice): string {
  switch (n.type) {
    case "invited":
      if (!n.professional) return t("evInvited", { by: n.by, name: n.invitee });
      return n.accompanying
        ? t("evInvitedProFor", { by: n.by, name: n.invitee, who: n.accompanying })
        : t("evInvitedPro", { by: n.by, name: n.invitee });
    case "accepted":
      return n.invitee ? t("evAccepted", { name: n.invitee }) : t("evAcceptedUnknown");
    case "revoked":
      return n.invitee ? t("evRevoked", { name: n.invitee }) : t("evRevokedUnknown");
    case "objected":
      return n.invitee ? t("evObjected", { name: n.invitee }) : t("evObjectedUnknown");
    case "declined":
      return n.invitee ? t("evDeclined", { name: n.invitee }) : t("evDeclinedUnknown");
    case "joinRequest":
      return t("evJoinRequest", { name: n.who });
    case "deleted":
      return t("evDeleted");
    case "joined":
      return t(n.professional ? "evJoinedPro" : "evJoined", { name: n.who });
    case "left":
      return t("evLeft", { name: n.who });
    case "removed":
      return t("evRemoved", { name: n.who });
    case "rulesChanged":
      return t("evRulesChanged");
    case "youJoined":
      return t("evYouJoined");
    case "youLeft":
      return t("evYouLeft");
    case "refused":
      return t("evRefused", { reason: t(`refusal_${refusalKey(n.reason)}` as Key, { name: n.who ?? "?" }) });
    case "proposalRefused":
      return t("evProposalRefused", { reason: t(`refusal_${refusalKey(n.reason)}` as Key, { name: n.who ?? "?" }) });
    case "joinRefused":
      return t("evJoinRefused", { reason: t(`join_${n.reason}` as Key, { name: n.who ?? "?" }) });
    case "broken":
      return t("evBroken");
    case "unapprovedDevice":
      return t(n.self ? "evUnapprovedOwnDevice" : "evUnapprovedDevice", { name: n.who, code: n.fingerprint });
    case "newDevice":
      if (n.self) return t("evNewOwnDevice", { code: n.fingerprint });
      return t(n.verifyAgain ? "evNewDeviceVerify" : "evNewDevice", { name: n.who, code: n.fingerprint });
    case "ignored": {
      const byWhat = {
        invitation: "evIgnoredInvitation",
        revocation: "evIgnoredRevocation",
        deletion: "evIgnoredDeletion",
        event: "evIgnoredEvent",
        proposal: "evIgnoredProposal",
      } as const;
      return t(byWhat[n.what]);
    }
  }
}
