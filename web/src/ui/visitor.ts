// The contact link page (/c/<token>): what a visitor sees first. It says whose link it is, asks for
// a pseudonym (and a code when the relay wants one), registers and opens the conversation. In the
// first load with the shell; the conversation screen is fetched while the visitor types.
import type { Messenger } from "../core/messenger";
import { RegistrationPolicy } from "../core/proto";
import { RelayError } from "../core/wire";
import { t } from "../i18n";
import { browserWarning, busy, errorText, handleInput, isCodeError, peerRoute, type Screen, type Shell } from "./common";
import { checkHandle } from "./handle-check";
import { field, h, replace } from "./dom";

export class VisitorScreen implements Screen {
  el: HTMLElement;
  title = t("linkLoading");

  constructor(
    private readonly shell: Shell,
    private readonly m: Messenger,
    private readonly token: string,
    private readonly prefetch: () => void,
  ) {
    this.el = h("section", {}, h("h1", {}, t("linkLoading")));
    void this.load();
  }

  private setTitle(text: string): HTMLElement {
    const h1 = h("h1", { tabindex: "-1" }, text);
    this.title = text;
    document.title = `${text} – ${t("appName")}`;
    return h1;
  }

  private async load(): Promise<void> {
    let owner: string;
    let needsCode = false;
    try {
      if (this.m.account) return await this.reopen();
      const hello = await this.m.connectAnonymous();
      const info = await this.m.resolveContactLink(this.token);
      owner = info.owner!.handle;
      needsCode = hello.registration === RegistrationPolicy.INVITE_CODE && !hello.contactLinkRegistration;
    } catch (e) {
      const bad = e instanceof RelayError;
      const h1 = this.setTitle(bad ? t("linkBadTitle") : t("errOffline"));
      replace(this.el, h1, h("p", {}, bad ? t("linkBadText") : t("linkOffline")), h("p", {}, h("a", { href: "/" }, t("linkGoHome"))));
      h1.focus();
      return;
    }
    this.showForm(owner, needsCode);
    this.prefetch();
  }

  /** Already has an account here: open (or reopen) the conversation with the link's owner. */
  private async reopen(): Promise<void> {
    this.m.start();
    await this.m.waitOnline(15_000);
    const info = await this.m.resolveContactLink(this.token);
    const peer = await this.m.startConversation(info.owner!.handle).catch(() => info.owner!.handle);
    this.shell.accountReady(peerRoute(peer));
  }

  private showForm(owner: string, needsCode: boolean): void {
    const h1 = this.setTitle(t("linkTitle", { name: owner }));
    const handle = handleInput();
    const handleField = field({ label: t("linkHandleLabel"), hint: t("linkHandleHint", { name: owner }), control: handle });
    const code = h("input", { name: "code", autocomplete: "off", required: true });
    const codeField = field({ label: t("codeLabel"), hint: t("codeHint"), control: code });
    const button = h("button", { type: "submit" }, t("linkStart"));
    const progress = h("p", { class: "notice", role: "status" });
    const form = h("form", { novalidate: true }, handleField.wrap, needsCode ? [h("p", {}, t("linkNeedsCode")), codeField.wrap] : null, button, progress);
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
          await this.m.register(name, { contactToken: this.token, code: needsCode ? code.value.trim() : undefined, role: "visitor" });
        } catch (err) {
          (isCodeError(err) ? codeField : handleField).error(errorText(err));
          (isCodeError(err) ? code : handle).focus();
          return;
        }
        progress.textContent = t("linkWorking");
        await this.open(owner);
      });
    });
    const intro = [h("p", {}, t("linkIntro", { name: owner })), h("p", {}, t("linkPrivacy", { name: owner })), h("p", {}, t("linkNoEmail"))];
    replace(this.el, h1, intro, form, browserWarning());
    h1.focus();
  }

  /** Opens the conversation with the link's owner once registered. */
  private async open(owner: string): Promise<void> {
    let peer = owner;
    try {
      await this.m.waitOnline(15_000);
      peer = await this.m.startConversation(owner);
    } catch {
      // The first message opens it (the outbox retries).
    }
    this.shell.accountReady(peerRoute(peer));
  }
}
