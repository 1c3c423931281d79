// A helper's contact links: create one (name, a few words shown to whoever opens it, duration),
// copy its address, revoke it.
import type { Messenger } from "../core/messenger";
import type { ContactLinkInfo } from "../core/proto";
import { lang, t } from "../i18n";
import { busy, errorText, type Screen } from "./common";
import { field, h, replace } from "./dom";

/** CreateContactLink.presentation's limit, in bytes (the relay refuses more). */
const PRESENTATION_MAX_BYTES = 500;

export class LinksScreen implements Screen {
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
    // No maxlength: a text over the limit is said to be too long, never cut without a word.
    const about = h("textarea", { name: "presentation", rows: 4 });
    const aboutField = field({ label: t("linkPresentationLabel"), hint: t("linkPresentationHint"), control: about });
    const button = h("button", { type: "submit" }, t("createLink"));
    const form = h("form", { novalidate: true, "aria-labelledby": "create-title" }, h("h2", { id: "create-title" }, t("linksCreateTitle")), labelField.wrap, aboutField.wrap, durationField.wrap, button);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void busy(button, async () => {
        labelField.error(null);
        aboutField.error(null);
        const presentation = about.value.trim();
        if (new TextEncoder().encode(presentation).length > PRESENTATION_MAX_BYTES) {
          aboutField.error(t("linkPresentationTooLong"));
          about.focus();
          return;
        }
        try {
          await this.m.createContactLink(label.value.trim(), Number(duration.value), presentation);
          label.value = "";
          about.value = "";
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

  /**
   * "Arrêter ce lien", then a question in words (what it does, that it cannot be undone) with
   * "Oui" and "Non": stopping a link is final, so one press is not enough.
   */
  private revokeButton(link: ContactLinkInfo, name: string, actions: HTMLElement): HTMLElement {
    const ask = h("button", { type: "button", class: "danger", "aria-label": t("revokeLinkNamed", { name }) }, t("revokeLink"));
    ask.addEventListener("click", () => {
      const question = h("p", { tabindex: "-1", class: "confirm" }, t("revokeAsk", { name }));
      const yes = h("button", { type: "button", class: "danger" }, t("revokeYes"));
      const no = h("button", { type: "button", class: "secondary" }, t("revokeNo"));
      const box = h("div", { role: "group", "aria-label": t("revokeLinkNamed", { name }) }, question, h("div", { class: "actions" }, yes, no));
      actions.after(box);
      ask.hidden = true;
      question.focus();
      no.addEventListener("click", () => {
        box.remove();
        ask.hidden = false;
        ask.focus();
      });
      yes.addEventListener("click", () =>
        busy(yes, async () => {
          try {
            await this.m.revokeContactLink(link.token);
            this.message.textContent = t("revoked");
            await this.load();
          } catch (err) {
            this.message.textContent = errorText(err);
          }
        }),
      );
    });
    return ask;
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
    const actions = h("div", { class: "actions" }, copy);
    actions.append(this.revokeButton(link, name, actions));
    return h(
      "li",
      { class: active ? "link" : "link inactive" },
      h("h3", {}, name),
      link.presentation ? h("p", { class: "muted" }, t("linkPresentationShown", { text: link.presentation })) : null,
      active ? [f.wrap, actions] : null,
      h("p", {}, state),
      h("p", { class: "muted" }, t("linkRegistrations", { n: link.registrations })),
    );
  }
}
