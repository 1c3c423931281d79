// "Mon compte": the pseudonym, the warning about clearing browser data, the backup form, and
// deleting the account (account-deletion.ts).
import type { Messenger } from "../core/messenger";
import { t } from "../i18n";
import { pt } from "../i18n-push";
import { backupForm } from "./backup";
import { deletionSection } from "./account-deletion";
import type { Screen, Shell } from "./common";
import { h } from "./dom";

/** Exactly what erasing this browser's data loses (what IndexedDB keeps: the device's keys, the
 * messages, kv "safety" and the verifications), and what a backup brings back. */
function lost(): HTMLElement {
  return h(
    "aside",
    { class: "warning", "aria-labelledby": "lost-title" },
    h("h2", { id: "lost-title" }, t("accountLostTitle")),
    h("p", {}, t("accountLostIntro")),
    h("ul", {}, h("li", {}, t("accountLostKeys")), h("li", {}, t("accountLostMessages")), h("li", {}, t("accountLostSafety")), h("li", {}, t("accountLostVerified"))),
    h("p", {}, t("accountLostBackup")),
    h("p", {}, t("accountLostOther")),
  );
}

/** The way to this device's notification choices (ui/notifications.ts). */
function notifications(): HTMLElement {
  return h("p", {}, h("a", { href: "#/notifications" }, pt("accountLink")));
}

export class AccountScreen implements Screen {
  el: HTMLElement;
  title = t("accountTitle");

  constructor(shell: Shell, m: Messenger) {
    const pro = m.professional ? h("p", { class: "notice pro-account" }, t("accountPro")) : null;
    this.el = h("section", {}, h("h1", {}, t("accountTitle")), h("p", {}, t("accountHandle", { name: m.account!.handle })), pro, notifications(), lost(), backupForm(m), deletionSection(shell, m));
  }
}
