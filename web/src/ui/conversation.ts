// One conversation, direct or a groupe de parole: the people (devices, verification) or the group's
// members and rules, the messages and events, the composer; a member may object to an invitation.
import { isWarning, type GroupNotice } from "../core/groups";
import type { ChatMessage, Messenger } from "../core/messenger";
import { ErrorCode } from "../core/proto";
import { lang, t } from "../i18n";
import { busy, errorText, formatTime, type Screen, type Shell } from "./common";
import { field, h, replace } from "./dom";
import { descriptionSection, peopleSection, rosterSection, rulesSection, stateNotices } from "./group";
import { ft } from "../i18n-facilitator";
import { reportCount, rt } from "../i18n-reports";
import { noticeText, threadTitle } from "./notices";
import { safetyPrefs } from "./safety-prefs";
import { confirmed, eraseControl, leaveControl, openReport } from "./thread-actions";

/** The longest message, in characters (Unicode code points, as the counter shows them). */
export const MAX_MESSAGE = 4000;
const COUNT_FROM = 3500;

function messageLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

const number = (n: number) => new Intl.NumberFormat(lang()).format(n);

/**
 * The counter under the message box, shown from COUNT_FROM characters, and a polite status saying
 * how much is left once each time the text crosses a step up (3,500, 3,900, the limit, over it), not
 * at every key.
 */
function lengthCounter(text: HTMLTextAreaElement): HTMLElement[] {
  const counter = h("p", { class: "counter hint", hidden: true });
  const spoken = h("p", { class: "sr-only", role: "status" });
  let step = 0;
  text.addEventListener("input", () => {
    const n = messageLength(text.value);
    counter.hidden = n < COUNT_FROM;
    counter.textContent = t("composeCount", { n: number(n), max: number(MAX_MESSAGE) });
    counter.classList.toggle("over", n > MAX_MESSAGE);
    const now = n > MAX_MESSAGE ? 4 : n === MAX_MESSAGE ? 3 : n >= 3900 ? 2 : n >= COUNT_FROM ? 1 : 0;
    if (now > step) spoken.textContent = now === 4 ? t("composeOver", { n: number(n - MAX_MESSAGE) }) : t("composeLeft", { n: number(MAX_MESSAGE - n) });
    step = now;
  });
  return [counter, spoken];
}

/** Why the relay (or this device) did not send a message, and whether trying again may work. */
function failure(code: number | undefined, muted: boolean): { why: string; retry: boolean } {
  if (muted && (code === ErrorCode.FORBIDDEN || code === 0)) return { why: t("failMuted"), retry: false };
  switch (code) {
    case ErrorCode.FORBIDDEN:
      return { why: t("failForbidden"), retry: false };
    case ErrorCode.FRAME_TOO_LARGE:
      return { why: t("failTooBig"), retry: false };
    case ErrorCode.NOT_FOUND:
      return { why: t("failGone"), retry: false };
    case 0:
      return { why: t("failGroup"), retry: false };
    case ErrorCode.RATE_LIMITED:
      return { why: t("failRate"), retry: true };
    default:
      return { why: t("failService"), retry: true };
  }
}

export class ConversationScreen implements Screen {
  el: HTMLElement;
  title: string;
  private readonly list = h("ol", { class: "messages" });
  private readonly empty = h("p", { class: "muted" }, t("convEmpty"));
  private readonly groupBox = h("div", { class: "group-info" });
  private readonly status = h("p", { class: "notice", role: "status", tabindex: "-1" });
  private leave?: HTMLElement;  // "Quitter ce groupe", while this device is in the group.
  private count = 0;  // Messages kept here (said before erasing them).
  private readonly form: HTMLFormElement;
  private readonly closed = h("p", { class: "warning-inline closed", hidden: true });  // Why the box is closed.
  private readonly seanceSlot = h("div", { class: "seance-slot" });  // The séance bar (seance-bar.ts), above the box.
  private bar?: import("./seance-bar").SeanceBar;
  private readonly heading: HTMLElement;
  private groupShown = "";
  private peopleSeen = false;
  private readonly revealed = new Set<string>();  // Folded messages the person chose to show here.
  private rendering = false;
  private again = false;

  constructor(
    private readonly shell: Shell,
    private readonly m: Messenger,
    private readonly peer: string,
  ) {
    const group = peer.startsWith("#");
    const thread = m.threads().find((th) => th.peer === peer);
    this.title = group ? (thread ? threadTitle(thread) : t("groupTitle")) : t("convTitle", { name: peer });
    this.heading = h("h1", {}, this.title);
    const form = (this.form = this.composer());
    const isHelper = m.account!.role === "helper";
    this.el = h(
      "section",
      { class: "conversation" },
      this.heading,
      h("p", { class: "muted" }, t("convEncrypted")),
      isHelper ? h("p", {}, h("a", { href: "#/", class: "back" }, t("convBack"))) : h("p", { class: "warning-inline" }, t("browserWarning")),
      this.groupBox,
      h("h2", { class: "sr-only" }, t("convMessages")),
      this.empty,
      this.list,
      group ? this.status : null,
      group ? this.seanceSlot : null,
      h("div", { role: "status" }, this.closed),  // Said when the box closes or opens again.
      form,
      this.actions(group),
    );
  }

  /** Erase from this device (any conversation); leave (a group). */
  private actions(group: boolean): HTMLElement {
    this.leave = group ? leaveControl(this.m, this.peer, this.status) : undefined;
    return h(
      "section",
      { class: "thread-actions", "aria-labelledby": "actions-title" },
      h("h2", { id: "actions-title" }, t("actionsTitle")),
      this.leave,
      eraseControl(this.m, this.peer, () => this.count, (hash) => this.shell.navigate(hash)),
    );
  }

  /**
   * The message field: sent with the button, or Ctrl+Enter (Cmd+Enter) in the field (said only where
   * a keyboard is likely: on a phone the hint would be noise). No maxlength: the box used to cut a
   * pasted text at the limit without a word. Near the limit a counter shows, and a polite live region
   * says how much is left at a few steps (not at every key). A text over the limit is refused with
   * its length and stays in the box: we do not split it into several messages, because the person
   * would not choose where it is cut (a sentence cut in two reads as two messages, is announced
   * twice, and one part could be sent while the other is refused, e.g. after a mute).
   */
  private composer(): HTMLFormElement {
    const text = h("textarea", { name: "message", rows: 3 });
    const keyboard = matchMedia("(hover: hover) and (pointer: fine)").matches;
    const f = field({ label: t("composeLabel"), hint: keyboard ? t("composeHint") : undefined, control: text });
    const button = h("button", { type: "submit" }, t("send"));
    const form = h("form", { novalidate: true, class: "composer" }, f.wrap, lengthCounter(text), button);
    const submit = () =>
      void busy(button, async () => {
        const value = text.value.trim();
        if (!value) {
          f.error(t("errEmpty"));
          text.focus();
          return;
        }
        const n = messageLength(value);
        if (n > MAX_MESSAGE) {
          f.error(t("errTooLong", { n: number(n), max: number(MAX_MESSAGE) }));
          text.focus();
          return;
        }
        f.error(null);
        text.value = "";
        text.dispatchEvent(new Event("input"));
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
    return form;
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
    const shown = JSON.stringify({ view, people, reports: this.m.openReports(this.peer) });
    this.renderTitle();
    // The séance bar follows the séance for everyone, a muted member too (their box stays closed).
    const gate = view ? this.seanceGate() : null;
    if (view) this.closeComposer(view.left ? t("composeLeft2") : view.rules?.mutedMe ? t("composeMuted") : gate);
    if (this.leave) this.leave.hidden = !view || view.left || view.leaving;
    if (shown === this.groupShown) return;
    // Disclosures the user opened stay open when the list is redrawn.
    const open = new Set([...this.groupBox.querySelectorAll("details")].filter((d) => d.open).map((d) => d.dataset.key ?? "rules"));
    this.groupShown = shown;
    if (view) replace(this.groupBox, descriptionSection(view), stateNotices(view), this.manageLink(view), this.reportsLink(view), rosterSection(view, this.peer), rulesSection(view));
    else replace(this.groupBox, peopleSection(people, this.peer));
    for (const d of this.groupBox.querySelectorAll("details")) d.open = open.has(d.dataset.key ?? "rules");
    // On a wide screen the member list starts open; on a phone it is folded so that the messages
    // are not pushed far down (the professional's notice stays outside the fold).
    const roster = this.groupBox.querySelector<HTMLDetailsElement>("details.people");
    if (roster && !this.peopleSeen) {
      this.peopleSeen = true;
      roster.open = matchMedia("(min-width: 48em)").matches;
    }
  }

  /** "Gérer le groupe", for its facilitators. */
  private manageLink(view: NonNullable<ReturnType<Messenger["groupView"]>>): HTMLElement | null {
    if (view.left || !view.roster.some((r) => r.self && r.role === "facilitator")) return null;
    return h("p", {}, h("a", { href: `#/ga/${this.peer.slice(1)}`, class: "button-link" }, ft("manageLink")));
  }

  /** The report inbox and how many reports wait there, for the group's facilitators. */
  private reportsLink(view: NonNullable<ReturnType<Messenger["groupView"]>>): HTMLElement | null {
    if (view.left || !view.roster.some((r) => r.self && r.role === "facilitator")) return null;
    return h("p", {}, h("a", { href: `#/gr/${this.peer.slice(1)}`, class: "button-link" }, reportCount(this.m.openReports(this.peer))));
  }

  /** "Supprimer pour tout le monde", for the group's facilitators, after one question. */
  private deletable(msg: ChatMessage): HTMLElement | null {
    const view = this.m.groupView(this.peer);
    if (!view || view.left || !msg.seq || msg.status === "pending" || !view.roster.some((r) => r.self && r.role === "facilitator")) return null;
    const name = msg.mine ? t("you") : msg.sender || t("someone");
    return confirmed({
      label: ft("deleteButton"),
      name: ft("deleteLabel", { name }),
      yes: ft("yes"),
      no: ft("no"),
      ask: () => [h("p", { class: "notice" }, ft("deleteAsk"))],
      act: async () => {
        try {
          await (await this.m.facilitator()).deleteEntry(this.peer.slice(1), msg.seq);
          this.status.textContent = ft("deleteDone");
          return true;
        } catch (err) {
          this.status.textContent = errorText(err);
          return false;
        }
      },
    });
  }

  /** A group's title follows its members (someone joins or leaves) without a reload. */
  private renderTitle(): void {
    if (!this.peer.startsWith("#")) return;
    const thread = this.m.threads().find((th) => th.peer === this.peer);
    const title = thread ? threadTitle(thread) : t("groupTitle");
    if (title === this.title) return;
    this.title = title;
    this.heading.textContent = title;
  }

  /** The séance bar, loaded for a group with séance rules; its reason to close the box (null: none). */
  private seanceGate(): string | null {
    if (!this.m.seanceView(this.peer)) return null;
    if (this.bar) return this.bar.render();
    void import("./seance-bar").then(({ SeanceBar }) => {
      this.bar ??= new SeanceBar(this.m, this.peer);
      this.seanceSlot.append(this.bar.el);
      this.update();
    });
    return null;
  }

  /** A member who may not write is told before typing: the box gives way to the reason. */
  private closeComposer(reason: string | null): void {
    this.form.hidden = reason !== null;
    this.closed.hidden = reason === null;
    if (this.closed.textContent !== (reason ?? "")) this.closed.textContent = reason ?? "";
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
        this.roleWords(msg),
        h("span", { class: "sr-only" }, ", "),
        " ",
        time,
        status ? [" ", h("span", { class: `status ${msg.status}` }, status)] : null,
        h("span", { class: "sr-only" }, " : "),
      ),
      this.text(msg),
      msg.mine && msg.status === "failed" ? this.failed(msg) : null,
      this.reportable(msg),
      this.deletable(msg),
    );
  }

  /**
   * The sender's role, so that a message reads in one go "who, role, time: text": a professional
   * is always marked in words beside each of their messages; a facilitator's role, shown in the
   * member list, is said to screen readers only.
   */
  private roleWords(msg: ChatMessage): Array<HTMLElement | string> {
    const row = this.m.groupView(this.peer)?.roster.find((r) => (msg.mine ? r.self : r.handle === msg.sender));
    const out: Array<HTMLElement | string> = [];
    if (msg.professional) out.push(h("span", { class: "sr-only" }, ","), " ", h("span", { class: "tag pro" }, t("proTag")));
    if (row?.role === "facilitator") out.push(h("span", { class: "sr-only" }, `, ${t("roleFacilitator")}`));
    return out;
  }

  /** A group message from someone else: "Signaler", or that it was reported. */
  private reportable(msg: ChatMessage): HTMLElement | null {
    const view = this.m.groupView(this.peer);
    if (!view || msg.mine || !msg.seq || msg.status !== "received") return null;
    if (msg.adminReport) return h("div", {}, h("p", { class: "muted" }, rt("adminDone")), msg.adminAnswer ? h("p", { class: "notice" }, rt("adminAnswer", { text: msg.adminAnswer })) : null);
    if (msg.reported) return h("p", { class: "muted" }, t("reportDone"));
    const facilitators = view.roster.filter((r) => r.role === "facilitator" && !r.self).map((r) => r.handle);
    if (view.left || facilitators.length === 0) return null;
    const name = msg.sender || t("someone");
    const button = h("button", { type: "button", class: "link-button", "aria-haspopup": "dialog", "aria-label": t("reportButtonLabel", { name }) }, t("reportButton"));
    button.addEventListener("click", () =>
      openReport(this.m, this.peer, msg, facilitators, button, (text) => {
        this.status.textContent = text;
        this.status.focus();
      }),
    );
    return h("p", { class: "report" }, button);
  }

  /** Next to a message that was not sent: why, and a button to try again where that may work. */
  private failed(msg: ChatMessage): HTMLElement {
    const { why, retry } = failure(msg.failCode, !!this.m.groupView(this.peer)?.rules?.mutedMe);
    const out = h("div", { class: "failed" }, h("p", { class: "why" }, why));
    if (retry) {
      const label = t("failRetryLabel", { text: msg.text.length > 40 ? `${msg.text.slice(0, 40)}…` : msg.text });
      const button = h("button", { type: "button", class: "secondary", "aria-label": label }, t("failRetry"));
      button.addEventListener("click", () => void busy(button, () => this.m.retryMessage(msg.key)));
      out.append(h("p", {}, button));
    }
    return out;
  }

  /** The text, or, when it has a word the person chose to hide, a fold with a button to show it. */
  private text(msg: ChatMessage): HTMLElement | HTMLElement[] {
    if (msg.status === "unreadable") return h("p", { class: "text muted" }, t("unreadable"));
    if (msg.mine || this.revealed.has(msg.key) || !safetyPrefs()?.hides(msg.text)) return h("p", { class: "text" }, msg.text);
    const name = msg.sender || t("someone");
    const show = h("button", { type: "button", class: "secondary", "aria-label": t("hiddenShowFrom", { name }) }, t("hiddenShow"));
    const fold = h("p", { class: "text muted folded" }, t("hiddenMessage"));
    const wrap = h("p", {}, show);
    show.addEventListener("click", () => {
      this.revealed.add(msg.key);
      const text = h("p", { class: "text", tabindex: "-1" }, msg.text);
      fold.replaceWith(text);
      wrap.remove();
      text.focus();  // The button is gone: the reader goes on with the text it showed.
    });
    return [fold, wrap];
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
    this.count = messages.filter((msg) => !msg.event).length;
    const shown = messages.slice(-300);
    const atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
    this.empty.hidden = shown.length > 0;
    this.list.hidden = shown.length === 0;
    replace(this.list, shown.map((msg) => this.item(msg)));
    if (atBottom) this.list.lastElementChild?.scrollIntoView({ block: "end" });
    // Read only when the person can see it: the tab shown and its window in front (else the tab's
    // title keeps counting, app.ts).
    if (document.visibilityState === "visible" && document.hasFocus() && this.m.threads().some((th) => th.peer === this.peer && th.unread > 0)) {
      await this.m.markRead(this.peer);
    }
  }
}
