// The home page of a browser without an account: create a helper's account (with a code when the
// relay asks for one), restore a backup, or go to pairing with an existing account.
import type { Messenger } from "../core/messenger";
import { RegistrationPolicy } from "../core/proto";
import { t } from "../i18n";
import { restoreForm } from "./backup";
import { busy, errorText, handleInput, isCodeError, takeFlash, type Screen, type Shell } from "./common";
import { checkHandle } from "./handle-check";
import { field, h } from "./dom";

export class HomeScreen implements Screen {
  el: HTMLElement;
  title = t("homeTitle");

  constructor(
    private readonly shell: Shell,
    private readonly m: Messenger,
  ) {
    const status = h("p", { class: "notice" }, t("loading"));
    // What the screen before says once (an account just deleted on this device).
    const flash = takeFlash();
    const said = flash ? h("p", { class: "notice", role: "status" }, flash) : null;
    this.el = h("section", {}, h("h1", {}, t("homeTitle")), said, h("p", {}, t("homeIntro")), status);
    void this.load(status);
  }

  private async load(status: HTMLElement): Promise<void> {
    let needsCode = false;
    try {
      const hello = await this.m.connectAnonymous();
      needsCode = hello.registration === RegistrationPolicy.INVITE_CODE;
      status.remove();
    } catch {
      status.textContent = t("linkOffline");
      return;
    }
    this.el.append(
      this.createForm(needsCode),
      restoreForm(this.shell, this.m),
      h("section", { "aria-labelledby": "join-title" }, h("h2", { id: "join-title" }, t("homeJoinTitle")), h("p", {}, t("homeJoinIntro")), h("p", {}, h("a", { href: "#/join" }, t("homeJoinLink")))),
    );
  }

  private createForm(needsCode: boolean): HTMLElement {
    const handle = handleInput();
    const handleField = field({ label: t("handleLabel"), hint: t("handleHint"), control: handle });
    const code = h("input", { name: "code", autocomplete: "off", autocapitalize: "none", spellcheck: "false", required: true });
    const codeField = field({ label: t("codeLabel"), hint: t("codeHint"), control: code });
    const button = h("button", { type: "submit" }, t("createButton"));
    const form = h("form", { novalidate: true }, h("h2", {}, t("homeCreateTitle")), h("p", {}, t("homeCreateIntro")), handleField.wrap, needsCode ? codeField.wrap : null, button);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void busy(button, async () => {
        handleField.error(null);
        codeField.error(null);
        const name = handle.value.trim();
        const problem = checkHandle(name);
        if (problem) {
          handleField.error(problem);
          handle.focus();
          return;
        }
        try {
          await this.m.register(name, { code: needsCode ? code.value.trim() : undefined, role: "helper" });
          this.shell.accountReady("#/");
        } catch (err) {
          (isCodeError(err) ? codeField : handleField).error(errorText(err));
          (isCodeError(err) ? code : handle).focus();
        }
      });
    });
    return form;
  }
}
