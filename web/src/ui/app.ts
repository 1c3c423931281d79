// The page: a shell (header, connection state, live regions) and one screen at a time.
import { groupKey, OtherInstance, PeerUnreachable, type ChatMessage, type Messenger } from "../core/messenger";
import { isWarning, type GroupNotice } from "../core/groups";
import { BadBackupFile, BadPassphrase } from "../core/backup";
import { ErrorCode, RegistrationPolicy, type ContactLinkInfo } from "../core/proto";
import { ConnectionLost, RelayError } from "../core/wire";
import { lang, setLang, t, type Key } from "../i18n";
import { field, h, replace } from "./dom";
import { DeviceChainRefused } from "../core/devices";
import { DevicesScreen, JoinScreen } from "./devices";
import { noticeText, peopleSection, rosterSection, rulesSection, stateNotices, threadTitle } from "./group";

export interface Screen {
  el: HTMLElement;
  title: string;
  update?(): void;
  destroy?(): void;
}

export function errorText(e: unknown): string {
  if (e instanceof RelayError) {
    const byCode: Partial<Record<ErrorCode, Key>> = {
      [ErrorCode.HANDLE_TAKEN]: "errHandleTaken",
      [ErrorCode.INVALID_HANDLE]: "errHandleInvalid",
      [ErrorCode.REGISTRATION_CODE_REQUIRED]: "errCodeRequired",
      [ErrorCode.REGISTRATION_CODE_INVALID]: "errCodeInvalid",
      [ErrorCode.NOT_FOUND]: "errNotFound",
      [ErrorCode.SHUTTING_DOWN]: "errOffline",
    };
    return t(byCode[e.code] ?? "errGeneric");
  }
  if (e instanceof ConnectionLost) return t("errOffline");
  if (e instanceof PeerUnreachable) return t("errUnreachable");
  if (e instanceof DeviceChainRefused) return t("errChainRefused");
  if (e instanceof BadBackupFile) return t("restoreBadFile");
  if (e instanceof BadPassphrase) return t("restoreBadPassphrase");
  if (e instanceof OtherInstance) return t("restoreOtherInstance");
  return t("errGeneric");
}

function formatTime(ms: number): string {
  const d = new Date(ms);
  const sameDay = new Date().toDateString() === d.toDateString();
  const opts: Intl.DateTimeFormatOptions = sameDay
    ? { hour: "2-digit", minute: "2-digit" }
    : { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
  return new Intl.DateTimeFormat(lang(), opts).format(d);
}

/** The address of a thread: a direct conversation by the peer's handle, a group by its id. */
function peerRoute(peer: string): string {
  return peer.startsWith("#") ? `#/g/${peer.slice(1)}` : `#/t/${encodeURIComponent(peer)}`;
}

/** A button that shows it is working and cannot be pressed twice meanwhile. */
export async function busy(button: HTMLButtonElement, work: () => Promise<void>): Promise<void> {
  if (button.getAttribute("aria-disabled") === "true") return;
  button.setAttribute("aria-disabled", "true");
  try {
    await work();
  } finally {
    button.removeAttribute("aria-disabled");
  }
}

export class App {
  private screen?: Screen;
  private readonly header = h("header", { class: "top" });
  private readonly main = h("main", { id: "main", tabindex: "-1" });
  private readonly view = h("div", { class: "view" });
  private readonly announcer = h("div", { class: "sr-only", "aria-live": "polite", "aria-atomic": "true" });
  private readonly connLive = h("div", { class: "sr-only", role: "status" });
  private readonly connText = h("span", { class: "conn-text" });
  private readonly connDot = h("span", { class: "dot", "aria-hidden": "true" });
  private readonly retryButton = h("button", { type: "button", class: "link-button", hidden: true }, "");
  private readonly invitationsItem = h("li", { hidden: true }, h("a", { href: "#/invitations" }, ""));
  private started = false;

  constructor(
    private readonly m: Messenger,
    private readonly root: HTMLElement,
  ) {}

  start(): void {
    this.retryButton.addEventListener("click", () => this.m.reconnectNow());
    this.main.append(this.view, this.announcer, this.connLive);
    this.renderShell();
    window.addEventListener("hashchange", () => this.route());
    window.addEventListener("popstate", () => this.route());
    window.addEventListener("offline", () => this.m.disconnect());
    window.addEventListener("online", () => this.m.reconnectNow());
    document.addEventListener("visibilitychange", () => this.screen?.update?.());
    this.m.onState(() => {
      this.updateConn(true);
      this.screen?.update?.();
    });
    this.m.onChange(() => {
      this.updateInvitationsLink();
      this.screen?.update?.();
    });
    this.m.onIncoming((msg) => this.announce(msg));
    setInterval(() => this.updateConn(false), 1000);
    this.route();
  }

  private announce(msg: ChatMessage): void {
    let said: string;
    if (msg.event?.type === "newDevice") {
      said = noticeText(msg.event);  // Also in direct conversations: it names whose device it is.
    } else if (msg.event) {
      said = t("announceGroup", { text: noticeText(msg.event) });
    } else {
      const text = msg.status === "unreadable" ? t("unreadable") : msg.text;
      const name = msg.sender || t("someone");
      said = t("announceIncoming", { name: msg.professional ? `${name} (${t("proTag")})` : name, text });
    }
    this.announcer.textContent = "";
    setTimeout(() => (this.announcer.textContent = said), 50);
  }

  private renderShell(): void {
    const account = this.m.account;
    const langButton = h(
      "button",
      { type: "button", class: "lang", lang: lang() === "fr" ? "en" : "fr", "aria-label": t("langSwitchLabel") },
      t("langSwitch"),
    );
    langButton.addEventListener("click", () => {
      const next = lang() === "fr" ? "en" : "fr";
      setLang(next);
      localStorage.setItem("cercle.lang", next);
      this.renderShell();
      this.route();
    });
    const skip = h("a", { class: "skip", href: "#main" }, t("skip"));
    skip.addEventListener("click", (e) => {
      e.preventDefault();
      this.main.focus();
    });
    const nav = account
      ? h(
          "nav",
          { "aria-label": t("mainNav") },
          h(
            "ul",
            {},
            account.role === "helper"
              ? [
                  h("li", {}, h("a", { href: "#/" }, t("navConversations"))),
                  h("li", {}, h("a", { href: "#/links" }, t("navLinks"))),
                ]
              : h("li", {}, h("a", { href: "#/" }, t("navConversation"))),
            this.invitationsItem,
            h("li", {}, h("a", { href: "#/devices" }, t("navDevices"))),
            h("li", {}, h("a", { href: "#/account" }, t("navAccount"))),
          ),
        )
      : null;
    this.updateInvitationsLink();
    this.retryButton.textContent = t("connRetry");
    const conn = account ? h("p", { class: "conn" }, this.connDot, this.connText, " ", this.retryButton) : null;
    replace(this.header, h("div", { class: "bar" }, h("p", { class: "brand" }, t("appName")), langButton), nav, conn);
    replace(this.root, skip, this.header, this.main);
    this.updateConn(false);
  }

  /** "Invitations (n)" in the menu while invitations to groups wait for an answer. */
  private updateInvitationsLink(): void {
    const n = this.m.account ? this.m.invitations().length : 0;
    this.invitationsItem.hidden = n === 0;
    const text = t("navInvitations", { n });
    const link = this.invitationsItem.firstElementChild as HTMLAnchorElement;
    if (link.textContent !== text) link.textContent = text;
  }

  private lastConnState = "";

  private updateConn(stateChanged: boolean): void {
    if (!this.m.account) return;
    const s = this.m.state;
    let text = t("connConnecting");
    if (s === "online") text = t("connOnline");
    else if (s === "offline") {
      const secs = Math.ceil((this.m.retryAt - Date.now()) / 1000);
      text = secs > 0 ? t("connOffline", { s: secs }) : t("connOfflineNow");
    }
    this.connText.textContent = text;
    this.connDot.className = `dot ${s}`;
    this.retryButton.hidden = s !== "offline";
    if (stateChanged && s !== this.lastConnState && s !== "stopped") {
      this.lastConnState = s;
      // Announced once per change, without the countdown.
      this.connLive.textContent = s === "online" ? t("connOnline") : s === "offline" ? t("connOfflineNow") : t("connConnecting");
    }
  }

  navigate(hash: string): void {
    if (location.pathname !== "/" || location.hash !== hash) {
      history.pushState(null, "", `/${hash}`);
    }
    this.route();
  }

  route(): void {
    const path = location.pathname;
    const account = this.m.account;
    let next: Screen;
    const link = /^\/c\/([^/]+)$/.exec(path);
    if (link) {
      next = new VisitorScreen(this, this.m, decodeURIComponent(link[1]));
    } else if (!account) {
      next = location.hash === "#/join" ? new JoinScreen(this, this.m) : new HomeScreen(this, this.m);
    } else {
      if (!this.started) {
        this.started = true;
        this.m.start();
      }
      const hash = location.hash;
      const conv = /^#\/t\/(.+)$/.exec(hash);
      const group = /^#\/g\/([0-9a-f]+)$/.exec(hash);
      const check = /^#\/v\/([^/]+)\/([^/]+)$/.exec(hash);
      if (check) next = new VerifyScreen(this.m, decodeURIComponent(check[1]), decodeURIComponent(check[2]));
      else if (conv) next = new ConversationScreen(this.m, decodeURIComponent(conv[1]));
      else if (group) next = new ConversationScreen(this.m, groupKey(group[1]));
      else if (hash === "#/links" && account.role === "helper") next = new LinksScreen(this.m);
      else if (hash === "#/account") next = new AccountScreen(this.m);
      else if (hash === "#/devices") next = new DevicesScreen(this.m);
      else if (hash === "#/invitations") next = new ListScreen(this, this.m);
      else {
        const threads = this.m.threads();
        if (account.role === "visitor" && threads.length === 1 && this.m.invitations().length === 0) {
          next = new ConversationScreen(this.m, threads[0].peer);
        }
        else next = new ListScreen(this, this.m);
      }
    }
    this.show(next);
  }

  /** Called once an account exists (registration or restore). */
  accountReady(hash: string): void {
    history.replaceState(null, "", `/${hash}`);
    this.renderShell();
    this.route();
  }

  private show(next: Screen): void {
    this.screen?.destroy?.();
    this.screen = next;
    replace(this.view, next.el);
    document.title = `${next.title} – ${t("appName")}`;
    for (const a of this.header.querySelectorAll("nav a")) {
      const here = a.getAttribute("href") === (location.hash || "#/");
      if (here) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    next.update?.();
    const heading = next.el.querySelector("h1");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus();
    }
  }
}

// ---- screens without an account ---------------------------------------------------------------------

class HomeScreen implements Screen {
  el: HTMLElement;
  title = t("homeTitle");

  constructor(
    private readonly app: App,
    private readonly m: Messenger,
  ) {
    const status = h("p", { class: "notice" }, t("loading"));
    this.el = h("section", {}, h("h1", {}, t("homeTitle")), h("p", {}, t("homeIntro")), status);
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
      this.restoreForm(),
      h("section", { "aria-labelledby": "join-title" }, h("h2", { id: "join-title" }, t("homeJoinTitle")), h("p", {}, t("homeJoinIntro")), h("p", {}, h("a", { href: "#/join" }, t("homeJoinLink")))),
    );
  }

  private createForm(needsCode: boolean): HTMLElement {
    const handle = h("input", { name: "handle", autocomplete: "off", autocapitalize: "none", spellcheck: "false", required: true, maxlength: 32 });
    const handleField = field({ label: t("handleLabel"), hint: t("handleHint"), control: handle });
    const code = h("input", { name: "code", autocomplete: "off", autocapitalize: "none", spellcheck: "false", required: true });
    const codeField = field({ label: t("codeLabel"), hint: t("codeHint"), control: code });
    const button = h("button", { type: "submit" }, t("createButton"));
    const form = h(
      "form",
      { novalidate: true },
      h("h2", {}, t("homeCreateTitle")),
      h("p", {}, t("homeCreateIntro")),
      handleField.wrap,
      needsCode ? codeField.wrap : null,
      button,
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void busy(button, async () => {
        handleField.error(null);
        codeField.error(null);
        const name = handle.value.trim();
        if (name.length < 3) {
          handleField.error(t("errHandleInvalid"));
          handle.focus();
          return;
        }
        try {
          await this.m.register(name, { code: needsCode ? code.value.trim() : undefined, role: "helper" });
          this.app.accountReady("#/");
        } catch (err) {
          const isCode = err instanceof RelayError && (err.code === ErrorCode.REGISTRATION_CODE_INVALID || err.code === ErrorCode.REGISTRATION_CODE_REQUIRED);
          (isCode ? codeField : handleField).error(errorText(err));
          (isCode ? code : handle).focus();
        }
      });
    });
    return form;
  }

  private restoreForm(): HTMLElement {
    const file = h("input", { type: "file", name: "backup", accept: ".cercle,application/json" });
    const fileField = field({ label: t("fileLabel"), control: file });
    const pass = h("input", { type: "password", name: "passphrase", autocomplete: "current-password" });
    const passField = field({ label: t("passphraseLabel"), control: pass });
    const button = h("button", { type: "submit" }, t("restoreButton"));
    const form = h("form", { novalidate: true }, h("h2", {}, t("homeRestoreTitle")), h("p", {}, t("homeRestoreIntro")), fileField.wrap, passField.wrap, button);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void busy(button, async () => {
        fileField.error(null);
        passField.error(null);
        const chosen = file.files?.[0];
        if (!chosen) {
          fileField.error(t("restoreNoFile"));
          file.focus();
          return;
        }
        try {
          await this.m.importBackup(await chosen.text(), pass.value);
          this.app.accountReady("#/");
        } catch (err) {
          const onPass = err instanceof BadPassphrase;
          (onPass ? passField : fileField).error(errorText(err));
          (onPass ? pass : file).focus();
        }
      });
    });
    return form;
  }
}

class VisitorScreen implements Screen {
  el: HTMLElement;
  title = t("linkLoading");

  constructor(
    private readonly app: App,
    private readonly m: Messenger,
    private readonly token: string,
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
      if (this.m.account) {
        // Already has an account here: open (or reopen) the conversation with the link's owner.
        this.m.start();
        await this.m.waitOnline(15_000);
        const info = await this.m.resolveContactLink(this.token);
        const peer = await this.m.startConversation(info.owner!.handle).catch(() => info.owner!.handle);
        this.app.accountReady(peerRoute(peer));
        return;
      }
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
    const h1 = this.setTitle(t("linkTitle", { name: owner }));
    const handle = h("input", { name: "handle", autocomplete: "off", autocapitalize: "none", spellcheck: "false", required: true, maxlength: 32 });
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
        if (name.length < 3) {
          handleField.error(t("errHandleInvalid"));
          handle.focus();
          return;
        }
        try {
          await this.m.register(name, { contactToken: this.token, code: needsCode ? code.value.trim() : undefined, role: "visitor" });
        } catch (err) {
          const isCode = err instanceof RelayError && (err.code === ErrorCode.REGISTRATION_CODE_INVALID || err.code === ErrorCode.REGISTRATION_CODE_REQUIRED);
          (isCode ? codeField : handleField).error(errorText(err));
          (isCode ? code : handle).focus();
          return;
        }
        progress.textContent = t("linkWorking");
        let peer = owner;
        try {
          await this.m.waitOnline(15_000);
          peer = await this.m.startConversation(owner);
        } catch {
          // The first message opens it (the outbox retries).
        }
        this.app.accountReady(peerRoute(peer));
      });
    });
    replace(
      this.el,
      h1,
      h("p", {}, t("linkIntro", { name: owner })),
      h("p", {}, t("linkPrivacy", { name: owner })),
      h("p", {}, t("linkNoEmail")),
      form,
      h("aside", { class: "warning", "aria-labelledby": "warn-title" }, h("h2", { id: "warn-title" }, t("browserWarningTitle")), h("p", {}, t("browserWarning"))),
    );
    h1.focus();
  }
}

// ---- screens with an account ------------------------------------------------------------------------

class ListScreen implements Screen {
  el: HTMLElement;
  title = t("listTitle");
  private readonly list = h("div", {});
  private readonly invitations = h("div", {});
  private readonly invitationStatus = h("p", { class: "notice", role: "status" });
  private invitationsShown = "";

  constructor(
    private readonly app: App,
    private readonly m: Messenger,
  ) {
    const input = h("input", { name: "peer", autocomplete: "off", autocapitalize: "none", spellcheck: "false", required: true });
    const f = field({ label: t("startLabel"), control: input });
    const button = h("button", { type: "submit" }, t("startButton"));
    const form = h("form", { novalidate: true, "aria-labelledby": "start-title" }, h("h2", { id: "start-title" }, t("startTitle")), f.wrap, button);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void busy(button, async () => {
        f.error(null);
        const name = input.value.trim();
        if (!name) {
          f.error(t("errNotFound"));
          input.focus();
          return;
        }
        if (name.toLowerCase() === m.account!.handle.toLowerCase()) {
          f.error(t("errYourself"));
          input.focus();
          return;
        }
        try {
          const peer = await this.m.startConversation(name);
          this.app.navigate(peerRoute(peer));
        } catch (err) {
          f.error(errorText(err));
          input.focus();
        }
      });
    });
    this.el = h("section", {}, h("h1", {}, t("listTitle")), this.invitations, this.invitationStatus, this.list, form);
  }

  /** Invitations to groups: who invites, as what, the charter to accept; one button each. */
  private renderInvitations(): void {
    const pending = this.m.invitations();
    const shown = JSON.stringify(pending);
    if (shown === this.invitationsShown) return;
    this.invitationsShown = shown;
    if (pending.length === 0) {
      replace(this.invitations);
      return;
    }
    replace(
      this.invitations,
      h("h2", {}, t("invitationsTitle")),
      h(
        "ul",
        { class: "invitations" },
        pending.map((i) => {
          const accept = h("button", { type: "button", "aria-label": t("invitationAcceptFrom", { name: i.inviter }) }, t("invitationAccept"));
          accept.addEventListener("click", () =>
            busy(accept, async () => {
              try {
                await this.m.acceptInvitation(i.id);
                this.invitationStatus.textContent = t("invitationAccepted");
              } catch (err) {
                this.invitationStatus.textContent = errorText(err);
              }
            }),
          );
          const as = i.professional
            ? i.accompanying
              ? t("invitationAsProFor", { name: i.accompanying })
              : t("invitationAsPro")
            : t("invitationAsPeer");
          return h(
            "li",
            { class: "link" },
            h("h3", {}, t("invitationFrom", { name: i.inviter })),
            h("p", {}, as),
            i.charter ? [h("p", {}, h("strong", {}, t("groupCharter"))), h("p", { class: "charter" }, i.charter)] : h("p", {}, t("invitationNoCharter")),
            h("p", {}, t("invitationHow")),
            accept,
          );
        }),
      ),
    );
  }

  update(): void {
    this.renderInvitations();
    const threads = this.m.threads();
    if (threads.length === 0) {
      replace(this.list, h("p", {}, t("listEmpty")));
      return;
    }
    replace(
      this.list,
      h(
        "ul",
        { class: "threads" },
        threads.map((th) => {
          const unread = th.unread === 0 ? t("noUnread") : th.unread === 1 ? t("unreadOne") : t("unread", { n: th.unread });
          return h(
            "li",
            {},
            h(
              "a",
              { href: peerRoute(th.peer), class: th.unread ? "thread unread" : "thread" },
              h("span", { class: "peer" }, threadTitle(th)),
              h("span", { class: th.unread ? "badge" : "muted" }, unread),
              th.lastTime ? h("time", { datetime: new Date(th.lastTime).toISOString() }, formatTime(th.lastTime)) : null,
            ),
          );
        }),
      ),
    );
  }
}

class ConversationScreen implements Screen {
  el: HTMLElement;
  title: string;
  private readonly list = h("ol", { class: "messages" });
  private readonly empty = h("p", { class: "muted" }, t("convEmpty"));
  private readonly groupBox = h("div", { class: "group-info" });
  private readonly status = h("p", { class: "notice", role: "status" });
  private readonly form: HTMLFormElement;
  private groupShown = "";
  private rendering = false;
  private again = false;

  constructor(
    private readonly m: Messenger,
    private readonly peer: string,
  ) {
    const group = peer.startsWith("#");
    const thread = m.threads().find((th) => th.peer === peer);
    this.title = group ? (thread ? threadTitle(thread) : t("groupTitle")) : t("convTitle", { name: peer });
    const text = h("textarea", { name: "message", rows: 3, maxlength: 4000 });
    const f = field({ label: t("composeLabel"), hint: t("composeHint"), control: text });
    const button = h("button", { type: "submit" }, t("send"));
    const form = h("form", { novalidate: true, class: "composer" }, f.wrap, button);
    this.form = form;
    const submit = () =>
      void busy(button, async () => {
        const value = text.value.trim();
        if (!value) {
          f.error(t("errEmpty"));
          text.focus();
          return;
        }
        f.error(null);
        text.value = "";
        await this.m.sendText(this.peer, value);
      });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      submit();
    });
    text.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        submit();
      }
    });
    const isHelper = m.account!.role === "helper";
    this.el = h(
      "section",
      { class: "conversation" },
      h("h1", {}, this.title),
      h("p", { class: "muted" }, t("convEncrypted")),
      isHelper ? h("p", {}, h("a", { href: "#/" }, t("convBack"))) : h("p", { class: "warning-inline" }, t("browserWarning")),
      this.groupBox,
      h("h2", { class: "sr-only" }, t("convMessages")),
      this.empty,
      this.list,
      group ? this.status : null,
      form,
    );
  }

  update(): void {
    if (this.rendering) {
      this.again = true;
      return;
    }
    this.rendering = true;
    void this.render().finally(() => {
      this.rendering = false;
      if (this.again) {
        this.again = false;
        this.update();
      }
    });
  }

  /** Members, roles and rules: redrawn only when they change (a screen reader keeps its place). */
  private renderGroup(): void {
    const view = this.m.groupView(this.peer);
    const people = view ? [] : this.m.people(this.peer);
    const shown = JSON.stringify({ view, people });
    if (view) this.form.hidden = view.left;
    if (shown === this.groupShown) return;
    // Disclosures the user opened stay open when the list is redrawn.
    const open = new Set([...this.groupBox.querySelectorAll("details")].filter((d) => d.open).map((d) => d.dataset.key ?? "rules"));
    this.groupShown = shown;
    if (view) replace(this.groupBox, stateNotices(view), rosterSection(view, this.peer), rulesSection(view));
    else replace(this.groupBox, peopleSection(people, this.peer));
    for (const d of this.groupBox.querySelectorAll("details")) d.open = open.has(d.dataset.key ?? "rules");
  }

  private item(msg: ChatMessage): HTMLElement {
    const time = h("time", { datetime: new Date(msg.time).toISOString() }, formatTime(msg.time));
    if (msg.event) {
      return h(
        "li",
        { class: isWarning(msg.event) ? "msg event warn" : "msg event" },
        h("p", { class: "meta" }, time),
        h("p", { class: "text" }, noticeText(msg.event)),
        this.objection(msg.event),
      );
    }
    const status =
      msg.mine && msg.status === "pending" ? t(this.m.state === "online" ? "statusSending" : "statusPending") : msg.mine && msg.status === "failed" ? t("statusFailed") : msg.mine ? t("statusSent") : null;
    return h(
      "li",
      { class: `msg ${msg.mine ? "mine" : "theirs"}` },
      h(
        "p",
        { class: "meta" },
        h("span", { class: "who" }, msg.mine ? t("you") : msg.sender || t("someone")),
        // A professional is always marked as such, beside each of their messages (in words).
        msg.professional ? [" ", h("span", { class: "tag pro" }, t("proTag"))] : null,
        " ",
        time,
        status ? [" ", h("span", { class: `status ${msg.status}` }, status)] : null,
      ),
      h("p", { class: msg.status === "unreadable" ? "text muted" : "text" }, msg.status === "unreadable" ? t("unreadable") : msg.text),
    );
  }

  /** In groups with a delay for objections, a member may object to a professional's invitation. */
  private objection(n: GroupNotice): HTMLElement | null {
    const view = this.m.groupView(this.peer);
    if (n.type !== "invited" || !n.professional || !n.id || !view || view.left || !view.rules?.objectionHours) return null;
    const tracked = view.invitations[n.id];
    if (!tracked || tracked.used || tracked.revoked || tracked.objected || n.invitee === this.m.account!.handle) return null;
    const button = h("button", { type: "button", class: "danger" }, t("objectButton", { name: n.invitee }));
    button.addEventListener("click", () =>
      busy(button, async () => {
        try {
          await this.m.objectToInvitation(this.peer, n.id!);
          this.status.textContent = t("objectDone");
        } catch (err) {
          this.status.textContent = errorText(err);
        }
      }),
    );
    return h("p", {}, button);
  }

  private async render(): Promise<void> {
    this.renderGroup();
    const messages = await this.m.messages(this.peer);
    messages.sort((a, b) => a.time - b.time || a.seq - b.seq);
    const shown = messages.slice(-300);
    const atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
    this.empty.hidden = shown.length > 0;
    this.list.hidden = shown.length === 0;
    replace(this.list, shown.map((msg) => this.item(msg)));
    if (atBottom) this.list.lastElementChild?.scrollIntoView({ block: "end" });
    if (document.visibilityState === "visible" && this.m.threads().some((th) => th.peer === this.peer && th.unread > 0)) {
      await this.m.markRead(this.peer);
    }
  }
}

/**
 * Verifying a person: the safety number both see (docs/safety-numbers.md), both sides' devices, and
 * a button to confirm once compared. The number confirmed is the one shown: if the devices change
 * meanwhile, the confirmation is refused and the new number is shown.
 */
class VerifyScreen implements Screen {
  el: HTMLElement;
  title: string;
  private readonly body = h("div", {});
  private readonly status = h("p", { class: "notice", role: "status" });
  private shown = "";

  constructor(
    private readonly m: Messenger,
    private readonly peer: string,
    private readonly handle: string,
  ) {
    this.title = t("verifyTitle", { name: handle });
    const back = peer.startsWith("#") ? `#/g/${peer.slice(1)}` : `#/t/${encodeURIComponent(peer)}`;
    this.el = h(
      "section",
      { class: "verify" },
      h("h1", {}, this.title),
      h("p", {}, h("a", { href: back }, t("verifyBack"))),
      this.body,
      this.status,
    );
  }

  update(): void {
    const view = this.m.safetyNumber(this.peer, this.handle);
    const shown = JSON.stringify(view ?? null);
    if (shown === this.shown) return;
    if (this.shown && view) this.status.textContent = t("verifyChangedMeanwhile");
    this.shown = shown;
    if (!view) {
      replace(this.body, h("p", { class: "warning-inline" }, t("verifyUnavailable", { name: this.handle })));
      return;
    }
    const name = this.handle;
    const state =
      view.verification === "verified" ? t("verifyStateVerified", { name }) : view.verification === "changed" ? t("verifyStateChanged", { name }) : t("verifyStateNone", { name });
    const confirm = h("button", { type: "button" }, t("verifySame"));
    confirm.addEventListener("click", () =>
      busy(confirm, async () => {
        try {
          await this.m.markVerified(this.peer, this.handle, view.number);
          this.status.textContent = t("verifyDone", { name });
        } catch {
          this.status.textContent = t("verifyChangedMeanwhile");
        }
        this.update();
      }),
    );
    replace(
      this.body,
      h("p", { class: view.verification === "changed" ? "warning-inline" : "" }, state),
      h("p", {}, t("verifyIntro", { name })),
      h("p", {}, t("verifyHow", { name })),
      h("h2", { id: "number-title" }, t("verifyNumberTitle")),
      h("ol", { class: "safety-number", "aria-labelledby": "number-title" }, view.number.split(" ").map((g) => h("li", {}, g))),
      h("h2", {}, t("verifyTheirDevices", { name, n: view.devices.length })),
      h("ul", {}, view.devices.map((code) => h("li", {}, t("deviceItem", { code })))),
      h("h2", {}, t("verifyOwnDevices", { n: view.ownDevices.length })),
      h("ul", {}, view.ownDevices.map((code) => h("li", {}, t("deviceItem", { code })))),
      view.verification === "verified" ? null : h("p", {}, confirm),
      h("p", {}, t("verifyDifferent")),
    );
  }
}

class LinksScreen implements Screen {
  el: HTMLElement;
  title = t("linksTitle");
  private readonly list = h("div", {});
  private readonly message = h("p", { class: "notice", role: "status" });
  private loaded = false;

  constructor(private readonly m: Messenger) {
    const label = h("input", { name: "label", autocomplete: "off", maxlength: 64 });
    const labelField = field({ label: t("linkNameLabel"), hint: t("linkNameHint"), control: label });
    const duration = h(
      "select",
      { name: "duration" },
      h("option", { value: "0" }, t("durationNever")),
      h("option", { value: "24" }, t("durationDay")),
      h("option", { value: "168" }, t("durationWeek")),
      h("option", { value: "720" }, t("durationMonth")),
    );
    const durationField = field({ label: t("durationLabel"), control: duration });
    const button = h("button", { type: "submit" }, t("createLink"));
    const form = h("form", { novalidate: true, "aria-labelledby": "create-title" }, h("h2", { id: "create-title" }, t("linksCreateTitle")), labelField.wrap, durationField.wrap, button);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void busy(button, async () => {
        labelField.error(null);
        try {
          await this.m.createContactLink(label.value.trim(), Number(duration.value));
          label.value = "";
          this.message.textContent = t("linkCreated");
          await this.load();
        } catch (err) {
          labelField.error(errorText(err));
        }
      });
    });
    this.el = h("section", {}, h("h1", {}, t("linksTitle")), h("p", {}, t("linksIntro")), form, this.message, h("h2", {}, t("linksListTitle")), this.list);
  }

  update(): void {
    if (!this.loaded && this.m.state === "online") void this.load();
    else if (!this.loaded) replace(this.list, h("p", {}, t("errOffline")));
  }

  private async load(): Promise<void> {
    this.loaded = true;
    let links: ContactLinkInfo[];
    try {
      links = await this.m.listContactLinks();
    } catch {
      this.loaded = false;
      replace(this.list, h("p", {}, t("errOffline")));
      return;
    }
    if (links.length === 0) {
      replace(this.list, h("p", {}, t("linksEmpty")));
      return;
    }
    links.sort((a, b) => Number(b.createdMs - a.createdMs));
    replace(this.list, h("ul", { class: "links" }, links.map((l) => this.item(l))));
  }

  private item(link: ContactLinkInfo): HTMLElement {
    const name = link.label || t("linkUnnamed");
    const url = `${location.origin}/c/${encodeURIComponent(link.token)}`;
    const expired = link.expiresAtMs > 0n && Number(link.expiresAtMs) < Date.now();
    const state = link.revoked
      ? t("linkRevoked")
      : expired
        ? t("linkExpired")
        : link.expiresAtMs > 0n
          ? t("linkExpires", { date: new Intl.DateTimeFormat(lang(), { dateStyle: "long", timeStyle: "short" }).format(new Date(Number(link.expiresAtMs))) })
          : t("linkActive");
    const active = !link.revoked && !expired;
    const input = h("input", { readonly: true, value: url, class: "url" });
    input.addEventListener("focus", () => input.select());
    const f = field({ label: t("linkAddress", { name }), control: input });
    const copy = h("button", { type: "button" }, t("copyLink"));
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(url);
        this.message.textContent = t("copied");
      } catch {
        input.focus();
        this.message.textContent = t("copyFailed");
      }
    });
    const revoke = h("button", { type: "button", class: "danger" }, t("revokeLink"));
    revoke.addEventListener("click", () =>
      busy(revoke, async () => {
        try {
          await this.m.revokeContactLink(link.token);
          this.message.textContent = t("revoked");
          await this.load();
        } catch (err) {
          this.message.textContent = errorText(err);
        }
      }),
    );
    return h(
      "li",
      { class: active ? "link" : "link inactive" },
      h("h3", {}, name),
      active ? [f.wrap, h("div", { class: "actions" }, copy, revoke)] : null,
      h("p", {}, state),
      h("p", { class: "muted" }, t("linkRegistrations", { n: link.registrations })),
    );
  }
}

class AccountScreen implements Screen {
  el: HTMLElement;
  title = t("accountTitle");

  constructor(private readonly m: Messenger) {
    const pass = h("input", { type: "password", name: "passphrase", autocomplete: "new-password", minlength: 10 });
    const passField = field({ label: t("backupPassLabel"), hint: t("backupPassHint"), control: pass });
    const pass2 = h("input", { type: "password", name: "passphrase2", autocomplete: "new-password" });
    const pass2Field = field({ label: t("backupPass2Label"), control: pass2 });
    const button = h("button", { type: "submit" }, t("backupButton"));
    const done = h("p", { class: "notice", role: "status" });
    const form = h("form", { novalidate: true, "aria-labelledby": "backup-title" }, h("h2", { id: "backup-title" }, t("backupTitle")), h("p", {}, t("backupIntro")), passField.wrap, pass2Field.wrap, button, done);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void busy(button, async () => {
        passField.error(null);
        pass2Field.error(null);
        done.textContent = "";
        if (pass.value.length < 10) {
          passField.error(t("backupShort"));
          pass.focus();
          return;
        }
        if (pass.value !== pass2.value) {
          pass2Field.error(t("backupMismatch"));
          pass2.focus();
          return;
        }
        try {
          const text = await this.m.exportBackup(pass.value);
          const blob = new Blob([text], { type: "application/json" });
          const a = h("a", { href: URL.createObjectURL(blob), download: `cercle-${this.m.account!.handle}.cercle` });
          document.body.append(a);
          a.click();
          a.remove();
          setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
          pass.value = pass2.value = "";
          done.textContent = t("backupDone");
        } catch (err) {
          passField.error(errorText(err));
        }
      });
    });
    this.el = h(
      "section",
      {},
      h("h1", {}, t("accountTitle")),
      h("p", {}, t("accountHandle", { name: m.account!.handle })),
      h("aside", { class: "warning", "aria-labelledby": "warn-title" }, h("h2", { id: "warn-title" }, t("browserWarningTitle")), h("p", {}, t("browserWarning"))),
      form,
    );
  }
}
