// The page: a shell (header, menu, language, connection state, live regions, routing) and one
// screen at a time. Only the shell and the contact link page are in the first load; every other
// screen is fetched (dynamic import) when its address is first opened.
import { groupKey, type ChatMessage, type Messenger } from "../core/messenger";
import { lang, setLang, t } from "../i18n";
import { at } from "../i18n-app";
import { formatTime, type Screen, type Shell } from "./common";
import { h, replace } from "./dom";
import { noticeText, threadTitle } from "./notices";
import { isExiting, learnAssociation, pushEntry, replaceEntry, safetyBar } from "./safety";
import { safetyPrefs } from "./safety-prefs";
import { updateBox } from "./update";
import { VisitorScreen } from "./visitor";

/** Shown when a screen's code cannot be fetched (offline since the page was loaded). */
function unavailable(): Screen {
  const title = t("errOffline");
  return { title, el: h("section", {}, h("h1", {}, title), h("p", {}, t("linkOffline"))) };
}

/** The words the live region says for an incoming message or event. */
function announcement(msg: ChatMessage): string {
  if (msg.event?.type === "newDevice") return noticeText(msg.event);  // Also in direct conversations: it names whose device it is.
  if (msg.event) return t("announceGroup", { text: noticeText(msg.event) });
  // A message with a word the person chose to hide is not read out either.
  const text = msg.status === "unreadable" ? t("unreadable") : safetyPrefs()?.hides(msg.text) ? t("hiddenAnnounce") : msg.text;
  const name = msg.sender || t("someone");
  return t("announceIncoming", { name: msg.professional ? `${name} (${t("proTag")})` : name, text });
}

export class App implements Shell {
  private screen?: Screen;
  private routed = 0;  // Counts route() calls: a screen fetched late never replaces a newer one.
  private readonly header = h("header", { class: "top" });
  private readonly main = h("main", { id: "main", tabindex: "-1" });
  private readonly view = h("div", { class: "view" });
  private readonly announcer = h("div", { class: "sr-only", "aria-live": "polite", "aria-atomic": "true" });
  private readonly connLive = h("div", { class: "sr-only", role: "status" });
  private readonly connText = h("span", { class: "conn-text" });
  private readonly connDot = h("span", { class: "dot", "aria-hidden": "true" });
  private readonly connRead = h("span", { class: "conn-read", hidden: true });
  private readonly retryButton = h("button", { type: "button", class: "link-button", hidden: true }, "");
  private readonly invitationsItem = h("li", { hidden: true }, h("a", { href: "#/invitations" }, ""));
  private readonly pauseBox = h("div", { class: "pause-banner", hidden: true });
  private started = false;
  /** Stays at the top while the page scrolls: the safety bar, and the connection state while it is lost. */
  private readonly pinned = h("div", { class: "pinned" });
  private connBox?: HTMLElement;
  private connLost = false;
  private prefetched = false;  // The reading screens were fetched (prefetchScreens).
  private lastConnState = "";
  private wasPaused = false;
  private shownPro = false;  // Whether the menu was drawn for a professional.
  private badge = 0;  // The count last put on the app's icon.
  private countdown?: ReturnType<typeof setInterval>;  // Redraws "next try in n s" while it is in view.
  private pauseTimer?: ReturnType<typeof setTimeout>;  // At the pause's end.

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
    // Back in front: the open conversation is read (and the count leaves the title).
    const returned = () => {
      this.screen?.update?.();
      this.updateTitle();
    };
    document.addEventListener("visibilitychange", () => this.visibilityChanged());
    this.m.setHidden(document.visibilityState === "hidden");  // Opened in a tab behind another.
    document.addEventListener("visibilitychange", returned);
    window.addEventListener("focus", returned);
    window.addEventListener("blur", returned);
    this.m.onState(() => {
      learnAssociation(this.m.hello?.association);  // Each hello says it again (contacts for the crisis card).
      // The relay says at each sign-in whether the account is a professional's: the menu follows.
      if (this.m.account && this.shownPro !== this.m.professional) this.renderShell();
      this.updateConn();
      this.screen?.update?.();
    });
    this.m.onChange(() => {
      this.updateInvitationsLink();
      this.screen?.update?.();
      this.updateTitle();
    });
    this.m.onIncoming((msg) => this.announce(msg));
    this.followNotifications();
    this.m.onReport((news) => void this.announceReport(news.kind, news.peer));
    safetyPrefs()?.onChange(() => this.pauseChanged());
    this.route();
  }

  /**
   * Notifications (ui/notifications.ts, loaded only where the browser already allowed them): after
   * each sign-in the relay gets this device's subscription again; a click on a notification
   * (public/sw.js) opens its conversation here.
   */
  private followNotifications(): void {
    let online = false;
    this.m.onState(() => {
      const now = this.m.state === "online";
      if (now && !online && globalThis.Notification?.permission === "granted") void import("./notifications").then((n) => n.refreshPush(this.m)).catch(() => {});
      online = now;
    });
    const sw = navigator.serviceWorker;
    sw?.addEventListener("message", (e: MessageEvent) => {
      const to: unknown = e.data?.open;
      if (typeof to === "string" && /^#\/((t\/[^/]+)|(g\/[0-9a-f]+))?$/.test(to)) this.navigate(to);
    });
    sw?.startMessages();
  }

  /**
   * Hidden, the page keeps no timer that fires more often than the relay's idle ping (issue 15,
   * battery): the connection's own pings keep it alive, the relay pushes what comes, and the core
   * stretches its periodic work. Back in view, what a timer would have changed is drawn at once.
   */
  private visibilityChanged(): void {
    this.m.setHidden(document.visibilityState === "hidden");
    this.updateConn();  // The countdown stopped while hidden.
    if (this.wasPaused !== !!safetyPrefs()?.paused()) this.pauseChanged();  // The phone may have slept through its end.
  }

  private announce(msg: ChatMessage): void {
    // During a pause nothing is announced: that is what a pause is for. (System notifications
    // come from public/sw.js, which reads the pause too: only the neutral words then, silently.)
    if (safetyPrefs()?.paused()) return;
    this.say(announcement(msg));
  }

  /**
   * A report kept on this device, or the admins' answer to one: said politely, naming only the
   * group (never who, nor what). Not during a pause. The words come with the reports' texts.
   */
  private async announceReport(kind: "received" | "answered", peer: string): Promise<void> {
    if (safetyPrefs()?.paused()) return;
    const { rt } = await import("../i18n-reports");
    const thread = this.m.threads().find((th) => th.peer === peer);
    this.say(kind === "answered" ? rt("answered") : rt("announce", { group: thread ? threadTitle(thread) : t("groupTitle") }));
  }

  private say(text: string): void {
    this.announcer.textContent = "";
    setTimeout(() => (this.announcer.textContent = text), 50);
  }

  private languageButton(): HTMLButtonElement {
    const other = lang() === "fr" ? "en" : "fr";
    const button = h("button", { type: "button", class: "lang", lang: other, "aria-label": t("langSwitchLabel") }, t("langSwitch"));
    button.addEventListener("click", async () => {
      try {
        await setLang(other);
      } catch {
        return;  // The English texts could not be fetched (offline): the page stays as it is.
      }
      localStorage.setItem("cercle.lang", other);
      this.renderShell();
      this.route();
    });
    return button;
  }

  private menu(role: "helper" | "visitor"): HTMLElement {
    const item = (href: string, text: string) => h("li", {}, h("a", { href }, text));
    // Contact links are for peer helpers: a professional's menu does not offer them.
    const links = role === "helper" && !this.m.professional ? item("#/links", t("navLinks")) : null;
    const newGroup = role === "helper" && !this.m.professional ? item("#/groupes/nouveau", t("navNewGroup")) : null;
    const threads = role === "helper" ? [item("#/", t("navConversations")), links, newGroup] : item("#/", t("navConversation"));
    const items = [threads, this.invitationsItem, item("#/devices", t("navDevices")), item("#/account", t("navAccount")), item("#/safety", t("navSafety"))];
    return h("nav", { "aria-label": t("mainNav") }, h("ul", {}, items));
  }

  private renderShell(): void {
    const account = this.m.account;
    const skip = h("a", { class: "skip", href: "#main" }, t("skip"));
    skip.addEventListener("click", (e) => {
      e.preventDefault();
      this.main.focus();
    });
    const nav = account ? this.menu(account.role) : null;
    this.shownPro = this.m.professional;
    this.updateInvitationsLink();
    this.retryButton.textContent = t("connRetry");
    // The dot sits inside the words (it wraps with them, never alone on a line at 360 px).
    const line = h("p", { class: "conn" }, h("span", { class: "conn-state" }, this.connDot, " ", this.connText), " ", this.connRead, " ", this.retryButton);
    this.connBox = account ? h("div", { role: "region", "aria-label": t("connLabel") }, line) : undefined;
    replace(this.header, h("div", { class: "bar" }, h("p", { class: "brand" }, t("appName")), this.languageButton()), nav, this.connBox, this.pauseBox);
    replace(this.root, skip, this.pinned, this.header, this.main);
    replace(this.pinned, safetyBar(), updateBox());
    this.updateConn();
    this.updatePause();
    this.markCurrent();
  }

  /** The menu's link to the screen shown says so. */
  private markCurrent(): void {
    for (const a of this.header.querySelectorAll("nav a")) {
      const here = a.getAttribute("href") === (location.hash || "#/");
      if (here) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
  }

  /** "Invitations (n)" in the menu while invitations to groups wait for an answer. */
  private updateInvitationsLink(): void {
    const n = this.m.account ? this.m.invitations().length : 0;
    this.invitationsItem.hidden = n === 0;
    const text = safetyPrefs()?.paused() ? t("navInvitationsPaused") : t("navInvitations", { n });
    const link = this.invitationsItem.firstElementChild as HTMLAnchorElement;
    if (link.textContent !== text) link.textContent = text;
  }

  /** The pause, shown on every screen while it is on, with the one button that ends it. */
  private updatePause(): void {
    const prefs = safetyPrefs();
    const end = prefs?.pauseEnd();
    this.wasPaused = end !== undefined;
    this.pauseBox.hidden = !this.m.account || end === undefined;
    this.followPauseEnd();
    if (this.pauseBox.hidden) return replace(this.pauseBox);
    const stop = h("button", { type: "button", class: "secondary" }, t("pauseEnd"));
    stop.addEventListener("click", () => void prefs!.endPause().then(() => this.say(t("pauseEnded"))));
    const when = end === null ? t("pauseOn") : t("pauseOnUntil", { time: formatTime(end!) });
    replace(this.pauseBox, h("p", {}, h("strong", {}, when), " ", t("pauseWhat")), stop);
  }

  /**
   * One timer at the pause's end (at most a day ahead, then again), even while hidden: the tab's
   * title gets its count back then. None for a pause until stopped.
   */
  private followPauseEnd(): void {
    clearTimeout(this.pauseTimer);
    const end = safetyPrefs()?.pauseEnd();
    if (typeof end !== "number") return;
    const ended = () => (this.wasPaused !== !!safetyPrefs()?.paused() ? this.pauseChanged() : this.followPauseEnd());
    this.pauseTimer = setTimeout(ended, Math.min(Math.max(end - Date.now(), 0) + 250, 86_400_000));
  }

  /** "Next try in n s" changes each second: a timer redraws it only while it is shown and the page is in view. */
  private followCountdown(shown: boolean): void {
    const needed = shown && document.visibilityState !== "hidden";
    if (needed && this.countdown === undefined) this.countdown = setInterval(() => this.updateConn(), 1000);
    if (!needed && this.countdown !== undefined) {
      clearInterval(this.countdown);
      this.countdown = undefined;
    }
  }

  private pauseChanged(): void {
    const focusWasIn = this.pauseBox.contains(document.activeElement);
    this.updateTitle();
    this.updatePause();
    this.updateInvitationsLink();
    this.screen?.update?.();
    if (focusWasIn) this.main.focus();  // "Arrêter la pause" is gone: focus goes on, not to the page's top.
  }

  private updateConn(): void {
    if (!this.m.account) return;
    const s = this.m.state;
    // "Your internet is down" (the device says it has no network) is not "the service is down"
    // (the network is there, the relay does not answer): the person can act on the first only.
    const noInternet = navigator.onLine === false;
    const shown = s === "online" ? "online" : noInternet ? "noInternet" : s;
    this.followCountdown(shown === "offline");
    let text = t("connConnecting");
    if (shown === "online") text = t("connOnline");
    else if (shown === "noInternet") text = t("connNoInternet");
    else if (shown === "offline") {
      const secs = Math.ceil((this.m.retryAt - Date.now()) / 1000);
      text = secs > 0 ? t("connOffline", { s: secs }) : t("connOfflineNow");
    }
    if (this.connText.textContent !== text) this.connText.textContent = text;
    this.connDot.className = `dot ${s === "online" ? "online" : shown === "connecting" ? "" : "offline"}`;
    this.connRead.hidden = shown === "online" || shown === "connecting";
    this.connRead.textContent = `${t("connReadHere")} ${at("willSend")}`;  // The outbox sends them then.
    this.retryButton.hidden = s !== "offline";  // Also without internet: the device may be wrong about it.
    this.placeConn(shown);
    if (shown !== this.lastConnState && s !== "stopped") {
      this.lastConnState = shown;
      // Announced once per change, without the countdown.
      const said: string | undefined = ({ online: t("connOnline"), noInternet: t("connNoInternet"), offline: t("connOfflineNow"), connecting: t("connConnecting") } as Record<string, string>)[shown];
      if (said) this.connLive.textContent = shown === "online" || shown === "connecting" ? said : `${said} ${this.connRead.textContent}`;
    }
  }

  /**
   * While the connection is lost (no internet, or the service does not answer) its state stays in
   * view under the safety bar, whatever the scroll; once back, it returns to the header (a pinned
   * "Connecté." would only take room on a phone). The short "connecting" between two tries keeps
   * where it is, so the line does not jump at each try.
   */
  private placeConn(shown: string): void {
    if (!this.connBox) return;
    if (shown === "online") this.connLost = false;
    else if (shown === "offline" || shown === "noInternet") this.connLost = true;
    if (this.connLost && this.connBox.parentElement !== this.pinned) this.pinned.append(this.connBox);
    else if (!this.connLost && this.connBox.parentElement !== this.header) this.header.insertBefore(this.connBox, this.pauseBox);
  }

  /**
   * The tab's title. While the tab is hidden or its window is not in front, it is only the unread
   * count and the service's name: "(2) Cercle", never a screen title that could hold a name, nor a
   * text. No count during a pause. Back in front, the screen's own title.
   */
  private updateTitle(): void {
    if (!this.screen) return;
    const away = document.visibilityState === "hidden" || !document.hasFocus();
    const n = this.m.account && !safetyPrefs()?.paused() ? this.m.threads().reduce((sum, th) => sum + th.unread, 0) : 0;
    const title = !away ? `${this.screen.title} – ${t("appName")}` : n > 0 ? `(${n}) ${t("appName")}` : t("appName");
    if (document.title !== title) document.title = title;
    this.updateBadge(n);
  }

  /**
   * The unread count on the app's icon, where the page is installed and the browser has the
   * Badging API; cleared at 0, and during a pause (n is 0 then). Only a number: nothing that names.
   */
  private updateBadge(n: number): void {
    if (n === this.badge) return;
    const nav = navigator as Navigator & { setAppBadge?: (n?: number) => Promise<void>; clearAppBadge?: () => Promise<void> };
    if (!nav.setAppBadge) return;
    this.badge = n;
    const done = n > 0 ? nav.setAppBadge(n) : (nav.clearAppBadge?.() ?? nav.setAppBadge(0));
    void done.catch(() => {});  // Not installed, or not allowed: the title still says it.
  }

  /**
   * Fetches the screens that read what this browser keeps, once signed in: the relay also serves
   * the page's files, so without this a conversation could not be opened while it is down.
   */
  private prefetchScreens(): void {
    if (this.prefetched) return;
    this.prefetched = true;
    // A visitor has one conversation; the list is a helper's first screen (or a visitor's with invitations).
    const screens = this.m.account?.role === "helper" ? [() => import("./conversation"), () => import("./list")] : [() => import("./conversation")];
    for (const load of screens) {
      void load().catch(() => (this.prefetched = false));
    }
  }

  navigate(hash: string): void {
    if (location.pathname !== "/" || location.hash !== hash) {
      pushEntry(`/${hash}`);
    }
    this.route();
  }

  route(): void {
    if (isExiting()) return;
    const routed = ++this.routed;
    const next = this.pick();
    if (!(next instanceof Promise)) return this.show(next);
    next.then(
      (screen) => (routed === this.routed ? this.show(screen) : screen.destroy?.()),
      () => routed === this.routed && this.show(unavailable()),
    );
  }

  /** The screen for the address; the contact link page at once, the others once fetched. */
  private pick(): Screen | Promise<Screen> {
    const link = /^\/c\/([^/]+)$/.exec(location.pathname);
    if (link) return new VisitorScreen(this, this.m, decodeURIComponent(link[1]), () => void import("./conversation").catch(() => {}));
    const account = this.m.account;
    if (!account) {
      if (location.hash === "#/join") return import("./devices").then((s) => new s.JoinScreen(this, this.m));
      return import("./home").then((s) => new s.HomeScreen(this, this.m));
    }
    if (!this.started) {
      this.started = true;
      this.m.start();
    }
    return this.accountScreen(account.role, location.hash);
  }

  private async accountScreen(role: "helper" | "visitor", hash: string): Promise<Screen> {
    const conv = /^#\/t\/(.+)$/.exec(hash);
    const group = /^#\/g\/([0-9a-f]+)$/.exec(hash);
    const check = /^#\/v\/([^/]+)\/([^/]+)$/.exec(hash);
    if (check) return new (await import("./verify")).VerifyScreen(this.m, decodeURIComponent(check[1]), decodeURIComponent(check[2]));
    if (conv) return new (await import("./conversation")).ConversationScreen(this, this.m, decodeURIComponent(conv[1]));
    if (group) return new (await import("./conversation")).ConversationScreen(this, this.m, groupKey(group[1]));
    if (hash === "#/links" && role === "helper" && !this.m.professional) return new (await import("./links")).LinksScreen(this.m);
    if (hash === "#/groupes/nouveau" && role === "helper" && !this.m.professional) return new (await import("./group-create")).GroupCreateScreen(this, this.m);
    const admin = /^#\/ga\/([0-9a-f]+)$/.exec(hash);
    if (admin) return new (await import("./group-admin")).GroupAdminScreen(this.m, admin[1]);
    const reports = /^#\/gr\/([0-9a-f]+)$/.exec(hash);
    if (reports) return new (await import("./report-inbox")).ReportInboxScreen(this.m, reports[1]);
    if (hash === "#/account") return new (await import("./account")).AccountScreen(this, this.m);
    if (hash === "#/devices") return new (await import("./devices")).DevicesScreen(this.m);
    if (hash === "#/safety") return new (await import("./safety-screen")).SafetyScreen();
    if (hash === "#/notifications") return new (await import("./notifications")).NotificationsScreen(this.m);
    const threads = this.m.threads();
    if (hash !== "#/invitations" && role === "visitor" && threads.length === 1 && this.m.invitations().length === 0) {
      return new (await import("./conversation")).ConversationScreen(this, this.m, threads[0].peer);
    }
    return new (await import("./list")).ListScreen(this, this.m);
  }

  accountReady(hash: string): void {
    replaceEntry(`/${hash}`);
    this.renderShell();
    this.route();
  }

  private show(next: Screen): void {
    if (isExiting()) return next.destroy?.();
    this.screen?.destroy?.();
    this.screen = next;
    replace(this.view, next.el);
    this.markCurrent();
    next.update?.();
    this.updateTitle();
    if (this.m.account) this.prefetchScreens();
    const heading = next.el.querySelector("h1");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus();
    }
  }
}
