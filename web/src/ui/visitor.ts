// The contact link page (/c/<token>): what a visitor sees first. It says whose link it is, what the
// helper wrote about themselves, who hosts the service and when to expect an answer, that it is not
// an emergency service (with the help numbers), then asks for a pseudonym and a first message (and
// a code when the relay wants one), registers, opens the conversation and sends the message. In the
// first load with the shell; the conversation screen is fetched while the visitor types. On a slow
// phone the form is there before this code (index.html, public/early.js): this code takes it over.
import type { Messenger } from "../core/messenger";
import { suite } from "../core/mls";
import { RegistrationPolicy, type ContactLinkInfo } from "../core/proto";
import { RelayError } from "../core/wire";
import { t } from "../i18n";
import { browserWarning, busy, errorText, handleInput, isCodeError, peerRoute, type Screen, type Shell } from "./common";
import { checkHandle } from "./handle-check";
import { field, h, replace } from "./dom";
import { associationInfo, learnAssociation, openCrisisCard } from "./safety";

/**
 * The association's own page: the relay's hello names it (HelloResult.association.page, the
 * instance's cercle.toml); else `<meta name="cercle-association-page" content="https://…">` in
 * index.html. Only an https address.
 */
function associationPage(): string | undefined {
  const url = associationInfo()?.page ?? document.querySelector<HTMLMetaElement>('meta[name="cercle-association-page"]')?.content ?? "";
  return url.startsWith("https://") ? url : undefined;
}

function helpButton(): HTMLButtonElement {
  const help = h("button", { type: "button", class: "secondary", "aria-haspopup": "dialog" }, t("linkHelpButton"));
  help.addEventListener("click", () => openCrisisCard(help));
  return help;
}

/** Who hosts the service and when an answer comes; not an emergency service, and the numbers that are. */
function whenAnswered(owner: string): HTMLElement {
  const a = associationInfo();
  return h(
    "section",
    { "aria-labelledby": "when-answer" },
    h("h2", { id: "when-answer" }, t("linkWhenTitle")),
    a?.name ? h("p", {}, t("linkHostedBy", { association: a.name })) : null,
    h("p", {}, a?.answerTimes || t("linkNoAnswerTimes", { name: owner })),
    h("p", { class: "notice" }, t("linkNotEmergency")),
    h("p", {}, t("linkHelpNow")),
    h("p", {}, helpButton()),
  );
}

/** A few words the helper wrote for whoever opens the link (ContactLinkInfo.presentation). */
function presentation(owner: string, text: string): HTMLElement | null {
  if (!text.trim()) return null;
  return h("section", { "aria-labelledby": "presentation" }, h("h2", { id: "presentation" }, t("linkPresentationTitle", { name: owner })), h("p", { class: "presentation" }, text));
}

/**
 * What to do when the link does not work: never the home page (it creates an account, which needs
 * a code the visitor does not have), but a new link, the page the link was found on (the
 * association's, when known), and the help numbers now.
 */
function whatNow(): HTMLElement {
  const help = helpButton();
  const page = associationPage();
  return h(
    "section",
    { "aria-labelledby": "what-now" },
    h("h2", { id: "what-now" }, t("linkWhatNow")),
    h("p", {}, t("linkAskAgain")),
    h("p", {}, t("linkBackToPage")),
    page ? h("p", {}, h("a", { href: page, rel: "noreferrer" }, t("linkAssociationPage"))) : null,
    h("p", {}, t("linkHelpNow")),
    h("p", {}, help),
  );
}

/** The contact form index.html wrote, which public/early.js showed before this code arrived. */
interface EarlyForm {
  box: HTMLElement;
  handle: HTMLInputElement;
  message: HTMLTextAreaElement;
}

function earlyForm(): EarlyForm | undefined {
  const box = document.getElementById("early");
  const handle = document.getElementById("early-handle");
  const message = document.getElementById("early-message");
  if (!box || box.hidden || !(handle instanceof HTMLInputElement) || !(message instanceof HTMLTextAreaElement)) return undefined;
  return { box, handle, message };
}

/** Whether "Commencer" was pressed on the early form (public/early.js held it for this code). */
function earlySubmitted(): boolean {
  return !!(globalThis as { cercleEarly?: { submitted?: boolean } }).cercleEarly?.submitted;
}

/**
 * Notes which of `fields` has the focus and where its caret is, before they are moved elsewhere in
 * the page (which drops the focus): the person may be typing in it. The function returned gives
 * them back, and says whether one had them.
 */
function focusKeeper(fields: (HTMLInputElement | HTMLTextAreaElement | undefined)[]): () => boolean {
  const active = fields.find((f) => f && f === document.activeElement);
  const [start, end] = [active?.selectionStart ?? null, active?.selectionEnd ?? null];
  return () => {
    if (!active) return false;
    active.focus();
    if (start !== null && end !== null) active.setSelectionRange(start, end);
    return true;
  };
}

export class VisitorScreen implements Screen {
  el: HTMLElement;
  title = t("linkLoading");
  /** Until the link is resolved, the early form stays where it is (below the shell), typed in. */
  private early = earlyForm();

  constructor(
    private readonly shell: Shell,
    private readonly m: Messenger,
    private readonly token: string,
    private readonly prefetch: () => void,
  ) {
    // No heading while the early form shows: the shell would move the focus to it, out of the field.
    this.el = h("section", {}, this.early ? null : h("h1", {}, t("linkLoading")));
    void this.load();
  }

  private dropEarly(): void {
    this.early?.box.remove();
    this.early = undefined;
  }

  private setTitle(text: string): HTMLElement {
    const h1 = h("h1", { tabindex: "-1" }, text);
    this.title = text;
    document.title = `${text} – ${t("appName")}`;
    return h1;
  }

  private async load(): Promise<void> {
    let info: ContactLinkInfo;
    let needsCode = false;
    try {
      if (this.m.account) {
        this.dropEarly();
        return await this.reopen();
      }
      // What the conversation needs is fetched now, while the person types, not one chunk after
      // another once it opens (ts-mls loads its cipher suite's code on first use).
      this.prefetch();
      void suite().catch(() => {});
      void import("../core/seal").catch(() => {});
      // One round trip: the relay answers the hello, then the link (connection.ts). The hello
      // first: a broken link's page names the association's page it gives.
      const hello = this.m.connectAnonymous();
      const found = this.m.resolveContactLink(this.token);
      found.catch(() => {});  // Awaited below, once the hello is in.
      const said = await hello;
      learnAssociation(said.association);
      info = await found;
      needsCode = said.registration === RegistrationPolicy.INVITE_CODE && !said.contactLinkRegistration;
    } catch (e) {
      this.dropEarly();
      return this.showBroken(e instanceof RelayError);
    }
    this.showForm(info.owner!.handle, info.presentation, needsCode);
  }

  private showBroken(bad: boolean): void {
    const h1 = this.setTitle(bad ? t("linkBadTitle") : t("errOffline"));
    const reload = h("button", { type: "button" }, t("linkReload"));
    reload.addEventListener("click", () => location.reload());
    replace(this.el, h1, h("p", {}, bad ? t("linkBadText") : t("linkOffline")), bad ? null : h("p", {}, reload), whatNow());
    h1.focus();
  }

  /**
   * Already has an account here. A link this device opened before leads to its conversation, even
   * once the link was stopped, and without asking the relay. Another link is resolved; when this
   * account never talked with its owner, the person is asked first: the account may be someone
   * else's on a shared device, and writing would show its pseudonym.
   */
  private async reopen(): Promise<void> {
    this.m.start();
    const saved = await this.m.linkOwner(this.token);
    if (saved && this.m.threads().some((th) => th.peer === saved)) return this.shell.accountReady(peerRoute(saved));
    await this.m.waitOnline(15_000);
    const owner = (await this.m.resolveContactLink(this.token)).owner!.handle;
    if (owner === this.m.account!.handle) return this.showOwnLink();
    if (saved || this.m.threads().some((th) => th.peer === owner)) return this.go(owner);
    this.askWhoseAccount(owner);
  }

  private async go(owner: string): Promise<void> {
    await this.m.rememberLink(this.token, owner);
    const peer = await this.m.startConversation(owner).catch(() => owner);
    this.shell.accountReady(peerRoute(peer));
  }

  /** A helper opened their own link: nobody to write to; say it is theirs to share, and the way back. */
  private showOwnLink(): void {
    const h1 = this.setTitle(t("ownLinkTitle"));
    const back = h("a", { href: "/#/" }, t("ownLinkBack"));
    back.addEventListener("click", (e) => {
      e.preventDefault();
      this.shell.accountReady("#/");
    });
    replace(this.el, h1, h("p", {}, t("ownLinkText")), h("p", {}, t("ownLinkShare")), h("p", {}, back));
    h1.focus();
  }

  /** Another account lives in this browser: say whose pseudonym would show, and let the person choose. */
  private askWhoseAccount(owner: string): void {
    const handle = this.m.account!.handle;
    const h1 = this.setTitle(t("linkOtherTitle"));
    const mine = h("button", { type: "button" }, t("linkOtherMine", { name: owner }));
    const notMine = h("button", { type: "button", class: "secondary" }, t("linkOtherNotMine"));
    const advice = h("p", { class: "notice", tabindex: "-1", hidden: true }, t("linkOtherAdvice", { handle }));
    mine.addEventListener("click", () => void busy(mine, () => this.go(owner)));
    notMine.addEventListener("click", () => {
      advice.hidden = false;
      advice.focus();
    });
    const risk = [h("p", {}, t("linkOtherText", { handle })), h("p", {}, t("linkOtherRisk", { name: owner }))];
    replace(this.el, h1, risk, h("div", { class: "actions" }, mine, notMine), advice);
    h1.focus();
  }

  /**
   * The form, with the early one's fields (and what was typed in them) when it showed. A first
   * message typed here goes as soon as the conversation is open.
   */
  private showForm(owner: string, about: string, needsCode: boolean): void {
    const h1 = this.setTitle(t("linkTitle", { name: owner }));
    const early = this.early;
    const giveFocusBack = focusKeeper([early?.handle, early?.message]);
    const handle = early?.handle ?? handleInput();
    const handleField = field({ label: t("linkHandleLabel"), hint: t("linkHandleHint", { name: owner }), control: handle });
    const message = early?.message ?? h("textarea", { name: "message", rows: 3 });
    const messageField = field({ label: t("linkMessageLabel"), hint: t("linkMessageHint", { name: owner }), control: message });
    const code = h("input", { name: "code", autocomplete: "off", required: true });
    const codeField = field({ label: t("codeLabel"), hint: t("codeHint"), control: code });
    const button = h("button", { type: "submit" }, t("linkStart"));
    const progress = h("p", { class: "notice", role: "status" });
    const codeFields = needsCode ? [h("p", {}, t("linkNeedsCode")), codeField.wrap] : null;
    const form = h("form", { novalidate: true }, handleField.wrap, messageField.wrap, codeFields, button, progress);
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
        await this.m.rememberLink(this.token, owner).catch(() => {});
        // Into the outbox: it opens the conversation (the same opening as open()'s) and sends it.
        const first = message.value.trim();
        if (first) await this.m.sendText(owner, first).catch(() => {});
        await this.open(owner);
      });
    });
    const intro = h("p", {}, t("linkIntro", { name: owner }));
    const privacy = [h("p", {}, t("linkPrivacy", { name: owner })), h("p", {}, t("linkNoEmail"))];
    this.dropEarly();
    replace(this.el, h1, intro, presentation(owner, about), whenAnswered(owner), privacy, form, browserWarning());
    if (!giveFocusBack()) h1.focus();
    if (early && earlySubmitted()) form.requestSubmit();
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
