// The report inbox of a group (#/gr/<id>), for its facilitators: each report this device opened and
// kept (core/reports.ts) with who reported it, when, why, and the message in its place in this
// device's history (or that it is no longer here); one-step actions: delete the message for
// everyone, stop its author from writing, ban its author (the facilitator's tools, core/facilitate.ts,
// with the admin screen's words), or close the report. Each says what happened in the status
// region, and closes the report once it worked. Loaded on demand, with its texts.
import type { Facilitator } from "../core/facilitate";
import { type ChatMessage, type Messenger } from "../core/messenger";
import type { Reports, StoredReport } from "../core/reports";
import { t } from "../i18n";
import { ft } from "../i18n-facilitator";
import { rt } from "../i18n-reports";
import { busy, formatTime, type Screen } from "./common";
import { h, replace } from "./dom";
import { actionError, facilitatorFrame } from "./group-forms";

type Context = Awaited<ReturnType<Reports["context"]>>;

export class ReportInboxScreen implements Screen {
  el: HTMLElement;
  title: string;
  private readonly peer: string;
  private readonly list = h("div", { class: "report-list" });
  private readonly status = h("p", { class: "notice", role: "status", tabindex: "-1" });
  private reports?: Reports;
  private f?: Facilitator;
  private shown = "";

  constructor(
    private readonly m: Messenger,
    private readonly id: string,
  ) {
    const frame = facilitatorFrame(m, id, "report-inbox", {
      title: (name) => rt("inboxTitle", { name }),
      plainTitle: rt("inboxTitlePlain"),
      back: rt("inboxBack"),
      missing: rt("inboxMissing"),
      notFacilitator: rt("inboxNotFacilitator"),
    });
    this.peer = frame.peer;
    this.title = frame.title;
    this.el = frame.el;
    if (frame.ready) {
      this.el.append(h("p", {}, rt("inboxIntro")), h("p", {}, rt("inboxHow")), this.status, this.list);
      void this.init();
    }
  }

  private async init(): Promise<void> {
    [this.reports, this.f] = await Promise.all([this.m.reports(), this.m.facilitator()]);
    await this.render();
  }

  update(): void {
    if (this.reports) void this.render();
  }

  private say(text: string): void {
    this.status.textContent = text;
    this.status.focus();
  }

  /** The reports, redrawn only when they or their messages change (a screen reader keeps its place). */
  private async render(): Promise<void> {
    const all = await this.reports!.list(this.peer);
    const contexts = await Promise.all(all.map((r) => this.reports!.context(r)));
    const shown = JSON.stringify([all, contexts.map((c) => [c.before, c.message, c.after].flat().map((m) => m && [m.key, m.text]))]);
    if (shown === this.shown) return;
    this.shown = shown;
    if (all.length === 0) return replace(this.list, h("p", {}, rt("inboxEmpty")));
    replace(this.list, h("ul", { class: "reports" }, all.map((r, i) => this.item(r, contexts[i]))));
  }

  private item(r: StoredReport, c: Context): HTMLElement {
    const titleId = `report-${r.id}`;
    const seen = h("p", {}, rt("seenText", { name: r.reporter, text: r.text }));
    return h(
      "li",
      { class: "report-item", "aria-labelledby": titleId },
      h("h2", { id: titleId }, rt("itemTitle", { name: r.reporter })),
      h("p", {}, rt("itemWhen", { time: formatTime(r.time) })),
      h("p", {}, r.reason ? rt("itemReason", { reason: r.reason }) : rt("itemNoReason")),
      h("h3", {}, rt("contextTitle")),
      c.message ? [h("ol", { class: "messages report-context" }, [...c.before, c.message, ...c.after].map((m) => this.line(m, m === c.message))), c.message.text !== r.text ? seen : null] : [h("p", { class: "warning-inline" }, rt("gone")), seen],
      h("div", { class: "actions" }, this.actions(r, c.message)),
    );
  }

  /** One message of the context, read in one go: who, time, text (the reported one says so). */
  private line(m: ChatMessage, reported: boolean): HTMLElement {
    const who = m.mine ? t("you") : m.sender || t("someone");
    return h(
      "li",
      { class: reported ? "msg reported" : "msg" },
      h(
        "p",
        { class: "meta" },
        reported ? [h("strong", { class: "tag" }, rt("reportedTag")), h("span", { class: "sr-only" }, ", "), " "] : null,
        h("span", { class: "who" }, who),
        h("span", { class: "sr-only" }, ", "),
        " ",
        h("time", { datetime: new Date(m.time).toISOString() }, formatTime(m.time)),
        h("span", { class: "sr-only" }, " : "),
      ),
      h("p", { class: "text" }, m.status === "unreadable" ? t("unreadable") : m.text),
    );
  }

  private actions(r: StoredReport, msg: ChatMessage | undefined): HTMLElement[] {
    const out: HTMLElement[] = [];
    const author = msg && !msg.mine ? msg.sender : "";
    if (msg) {
      const name = msg.mine ? t("you") : msg.sender || t("someone");
      out.push(this.act(r, ft("deleteButton"), rt("deleteLabel", { name }), "danger", () => this.f!.deleteEntry(this.id, msg.seq), ft("deleteDone"), name));
    }
    if (author) {
      out.push(
        this.act(r, ft("muteButton", { name: author }), undefined, "danger", () => this.f!.mute(this.id, author, true), ft("muteDone", { name: author }), author),
        this.act(r, ft("banButton", { name: author }), undefined, "danger", () => this.f!.ban(this.id, author), ft("banDone", { name: author }), author),
      );
    }
    out.push(this.act(r, rt("closeButton"), rt("closeLabel", { name: r.reporter }), "secondary", async () => {}, "", r.reporter));
    return out;
  }

  /** A button that acts at once; once it worked, the report is closed and both are said. */
  private act(r: StoredReport, label: string, name: string | undefined, kind: string, work: () => Promise<unknown>, done: string, who: string): HTMLElement {
    const button = h("button", { type: "button", class: kind, "aria-label": name }, label);
    button.addEventListener("click", () =>
      busy(button, async () => {
        try {
          await work();
          await this.reports!.close(this.peer, r.id);
          this.say(done ? `${done} ${rt("closed")}` : rt("closed"));
        } catch (err) {
          this.say(actionError(err, who));
        }
      }),
    );
    return button;
  }
}
