// "Mon compte": the pseudonym, the warning about clearing browser data, and the backup form.
import type { Messenger } from "../core/messenger";
import { t } from "../i18n";
import { backupForm } from "./backup";
import { browserWarning, type Screen } from "./common";
import { h } from "./dom";

export class AccountScreen implements Screen {
  el: HTMLElement;
  title = t("accountTitle");

  constructor(m: Messenger) {
    this.el = h("section", {}, h("h1", {}, t("accountTitle")), h("p", {}, t("accountHandle", { name: m.account!.handle })), browserWarning(), backupForm(m));
  }
}
