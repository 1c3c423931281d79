// The list of conversations (with unread counts, none during a pause), invitations to groups
// waiting for an answer, and the form that starts a conversation with a pseudonym.
import type { Messenger } from "../core/messenger";
import { t } from "../i18n";
import { reportCount } from "../i18n-reports";
import { busy, errorText, formatTime, peerRoute, takeFlash, type Screen, type Shell } from "./common";
import { field, h, replace } from "./dom";
import { threadTitle } from "./notices";
import { safetyPrefs } from "./safety-prefs";

export class ListScreen implements Screen {
  el: HTMLElement;
  title = t("listTitle");
  private readonly list = h("div", {});
  private readonly invitations = h("div", {});
  private readonly invitationStatus = h("p", { class: "notice", role: "status", tabindex: "-1" });
  private readonly waiting = h("div", {});
  private invitationsShown = "";
  private waitingShown = "";

  constructor(
    private readonly shell: Shell,
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
          this.shell.navigate(peerRoute(peer));
        } catch (err) {
          f.error(errorText(err));
          input.focus();
        }
      });
    });
    this.invitationStatus.textContent = takeFlash();
    this.el = h("section", {}, h("h1", {}, t("listTitle")), this.invitations, this.invitationStatus, this.waiting, this.list, form);
  }

  /** Invitations accepted whose group has not added this account yet: it waits, and is told so. */
  private renderWaiting(): void {
    const waiting = this.m.acceptedInvitations();
    const shown = JSON.stringify(waiting);
    if (shown === this.waitingShown) return;
    this.waitingShown = shown;
    if (waiting.length === 0) return replace(this.waiting);
    replace(
      this.waiting,
      h("h2", {}, t("invitationsWaitingTitle")),
      h("ul", { class: "invitations" }, waiting.map((a) => h("li", { class: "link" }, h("p", {}, t("invitationWaiting", { name: a.inviter }))))),
    );
  }

  /**
   * "Ne pas accepter": DeclineInvitation tells the group; when the relay cannot be reached it is
   * sent at the next connection, and an older relay that cannot decline leaves it put aside here.
   */
  private ignoreButton(inviter: string, id: string): HTMLButtonElement {
    const ignore = h("button", { type: "button", class: "secondary", "aria-label": t("invitationIgnoreFrom", { name: inviter }) }, t("invitationIgnore"));
    ignore.addEventListener("click", () =>
      busy(ignore, async () => {
        const done = await this.m.declineInvitation(id);
        const key = done === "told" ? "invitationDeclined" : done === "later" ? "invitationDeclinedLater" : "invitationIgnored";
        this.invitationStatus.textContent = t(key, { name: inviter });
        this.invitationStatus.focus();
      }),
    );
    return ignore;
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
            h("p", {}, t("invitationIgnoreHow", { name: i.inviter })),
            h("div", { class: "actions" }, accept, this.ignoreButton(i.inviter, i.id)),
          );
        }),
      ),
    );
  }

  update(): void {
    this.renderInvitations();
    this.renderWaiting();
    const threads = this.m.threads();
    const paused = !!safetyPrefs()?.paused();
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
          // During a pause no count is shown, not even "no new message" (its absence would tell).
          const count = paused ? 0 : th.unread;
          const unread = paused ? null : count === 0 ? t("noUnread") : count === 1 ? t("unreadOne") : t("unread", { n: count });
          return h(
            "li",
            {},
            h(
              "a",
              { href: peerRoute(th.peer), class: count ? "thread unread" : "thread" },
              h("span", { class: "peer" }, threadTitle(th)),
              unread ? h("span", { class: count ? "badge" : "muted" }, unread) : null,
              // A facilitator's reports to read (not during a pause, like the unread count).
              !paused && this.m.openReports(th.peer) > 0 ? h("span", { class: "badge" }, reportCount(this.m.openReports(th.peer))) : null,
              th.lastTime ? h("time", { datetime: new Date(th.lastTime).toISOString() }, formatTime(th.lastTime)) : null,
            ),
          );
        }),
      ),
    );
  }
}
