// One conversation, direct or a groupe de parole: the people (devices, verification) or the group's
// members and rules, the messages and events, the composer; a member may object to an invitation.
import { isWarning, type GroupNotice } from "../core/groups";
import type { ChatMessage, Messenger } from "../core/messenger";
import { t } from "../i18n";
import { busy, errorText, formatTime, type Screen } from "./common";
import { field, h, replace } from "./dom";
import { peopleSection, rosterSection, rulesSection, stateNotices } from "./group";
import { noticeText, threadTitle } from "./notices";
import { safetyPrefs } from "./safety-prefs";

export class ConversationScreen implements Screen {
  el: HTMLElement;
  title: string;
  private readonly list = h("ol", { class: "messages" });
  private readonly empty = h("p", { class: "muted" }, t("convEmpty"));
  private readonly groupBox = h("div", { class: "group-info" });
  private readonly status = h("p", { class: "notice", role: "status" });
  private readonly form: HTMLFormElement;
  private groupShown = "";
  private readonly revealed = new Set<string>();  // Folded messages the person chose to show here.
  private rendering = false;
  private again = false;

  constructor(
    private readonly m: Messenger,
    private readonly peer: string,
  ) {
    const group = peer.startsWith("#");
    const thread = m.threads().find((th) => th.peer === peer);
    this.title = group ? (thread ? threadTitle(thread) : t("groupTitle")) : t("convTitle", { name: peer });
    const form = (this.form = this.composer());
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

  /** The message field: sent with the button, or Ctrl+Enter (Cmd+Enter) in the field. */
  private composer(): HTMLFormElement {
    const text = h("textarea", { name: "message", rows: 3, maxlength: 4000 });
    const f = field({ label: t("composeLabel"), hint: t("composeHint"), control: text });
    const button = h("button", { type: "submit" }, t("send"));
    const form = h("form", { novalidate: true, class: "composer" }, f.wrap, button);
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
      this.text(msg),
    );
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
