// What a person does with a conversation besides writing: erase it from this device (a shared
// phone), leave a groupe de parole, report a group message to the facilitators or the admins. Each action that
// cannot be undone asks first, in words that say exactly what happens. Part of the conversation
// screen (lazy).
import { NoFacilitator, type ChatMessage, type Messenger } from "../core/messenger";
import { t } from "../i18n";
import { rt } from "../i18n-reports";
import { busy, errorText, setFlash } from "./common";
import { field, h } from "./dom";

/**
 * A button that asks before acting: the question (focused), "Oui" and "Non" under it. `act` returns
 * false when the question should stay (it failed; the reason is in `status`). `refused` says why the
 * action would be refused before anything is sent; then only the reason shows, with one way back.
 */
export function confirmed(opts: { label: string; name?: string; ask: () => (HTMLElement | string)[]; yes: string; no: string; act: () => Promise<boolean>; refused?: () => { why: HTMLElement[]; ok: string } | null }): HTMLElement {
  // `name`: a longer accessible name when the button's words are the same on several items.
  const button = h("button", { type: "button", class: "danger", "aria-label": opts.name }, opts.label);
  const wrap = h("div", {}, h("p", {}, button));
  button.addEventListener("click", () => {
    const refusal = opts.refused?.() ?? null;
    const question = h("div", { tabindex: "-1", class: "confirm" }, refusal ? refusal.why : opts.ask());
    const yes = h("button", { type: "button", class: "danger" }, opts.yes);
    const no = h("button", { type: "button", class: "secondary" }, refusal ? refusal.ok : opts.no);
    const box = h("div", { role: "group", "aria-label": opts.name ?? opts.label }, question, h("div", { class: "actions" }, refusal ? null : yes, no));
    wrap.append(box);
    button.hidden = true;
    question.focus();
    no.addEventListener("click", () => {
      box.remove();
      button.hidden = false;
      button.focus();
    });
    yes.addEventListener("click", () =>
      busy(yes, async () => {
        if (!(await opts.act())) return;
        box.remove();
        button.hidden = false;
      }),
    );
  });
  return wrap;
}

/** "Effacer de cet appareil": this device's copy only; the other people keep theirs. */
export function eraseControl(m: Messenger, peer: string, count: () => number, navigate: (hash: string) => void): HTMLElement {
  const group = peer.startsWith("#");
  return confirmed({
    label: t("eraseButton"),
    yes: t("eraseYes"),
    no: t("eraseNo"),
    ask: () => {
      const n = count();
      return [
        h("p", { class: "notice" }, t("eraseAsk")),
        h("p", {}, n === 1 ? t("eraseWhatOne") : t("eraseWhatMany", { n })),
        h("p", {}, group ? t("eraseGroupKeeps") : t("eraseOtherKeeps", { name: peer })),
        h("p", {}, t("eraseStay")),
        h("p", {}, t("eraseNoUndo")),
      ];
    },
    act: async () => {
      await m.eraseThread(peer);
      setFlash(t("eraseDone"));
      navigate("#/");  // Through the shell: one route, and the entry is Cercle's (the quick exit counts it).
      return true;
    },
  });
}

/**
 * The group's rules keep a facilitator: the last one's request to leave would never be carried out
 * (and no other facilitator's client would commit it), so it is not sent.
 */
function onlyFacilitator(m: Messenger, peer: string): boolean {
  const roster = m.groupView(peer)?.roster ?? [];
  const leads = roster.filter((r) => r.role === "facilitator");
  return leads.length === 1 && leads[0].self;
}

/** "Quitter ce groupe": a request the facilitators' client carries out (the relay relays it). */
export function leaveControl(m: Messenger, peer: string, status: HTMLElement): HTMLElement {
  return confirmed({
    label: t("leaveButton"),
    yes: t("leaveYes"),
    no: t("leaveNo"),
    ask: () => [h("p", { class: "notice" }, t("leaveAsk"))],
    refused: () => (onlyFacilitator(m, peer) ? { why: [h("p", { class: "notice" }, t("leaveOnlyLead")), h("p", {}, t("leaveOnlyLeadHow"))], ok: t("leaveOnlyLeadOk") } : null),
    act: async () => {
      try {
        await m.leaveGroup(peer);
        status.textContent = t("groupLeavingNotice");
        return true;
      } catch (err) {
        status.textContent = errorText(err);
        return false;
      }
    },
  });
}

/**
 * The report form, in a modal card over the conversation (the list under it is redrawn at each new
 * message; a form inside it would lose what is typed): who will read it, an optional reason. A
 * second choice sends it to the association's admins instead, after a screen that says plainly that
 * this one message's text will be shown to them.
 */
export function openReport(m: Messenger, peer: string, msg: ChatMessage, facilitators: string[], opener: HTMLElement, done: (text: string) => void): void {
  const reason = h("textarea", { name: "reason", rows: 3 });
  const f = field({ label: t("reportReason"), control: reason });
  const send = h("button", { type: "submit", class: "danger" }, t("reportSend"));
  const cancel = h("button", { type: "button", class: "secondary" }, t("reportCancel"));
  const toAdmins = h("button", { type: "button", class: "secondary" }, rt("adminChoice"));
  const title = h("h2", { id: "report-title", tabindex: "-1" }, t("reportButtonLabel", { name: msg.sender || t("someone") }));
  const form = h("form", { novalidate: true }, h("blockquote", {}, msg.text), h("p", {}, t("reportWho", { names: facilitators.join(", ") })), f.wrap, h("div", { class: "actions" }, send, cancel), h("p", {}, toAdmins));
  const dialog = h("dialog", { class: "crisis report", "aria-labelledby": "report-title" }, title, form);
  cancel.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    dialog.remove();
    opener.focus();
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(send, async () => {
      try {
        await m.reportMessage(peer, msg.key, reason.value.trim());
        dialog.close();
        done(t("reportDone"));
      } catch (err) {
        f.error(err instanceof NoFacilitator ? t("reportNoFacilitator") : errorText(err));
      }
    });
  });
  toAdmins.addEventListener("click", () => {
    form.hidden = true;
    const ask = adminConfirmation(m, msg, {
      yes: async () => {
        await m.reportToAdmins(peer, msg.key, reason.value.trim());
        dialog.close();
        done(rt("adminDone"));
      },
      no: () => {
        ask.remove();
        form.hidden = false;
        toAdmins.focus();
      },
    });
    dialog.append(ask);
    ask.querySelector<HTMLElement>("h3")!.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  title.focus();
}

/** "Montrer ce message à l'association ?": what they will read (this one message), and who they will know reports. */
function adminConfirmation(m: Messenger, msg: ChatMessage, on: { yes: () => Promise<void>; no: () => void }): HTMLElement {
  const who = m.hello?.association?.name || rt("adminAssociation");
  const yes = h("button", { type: "button", class: "danger" }, rt("adminYes"));
  const no = h("button", { type: "button", class: "secondary" }, rt("adminNo"));
  const error = h("p", { class: "error", role: "alert" });
  yes.addEventListener("click", () =>
    busy(yes, async () => {
      try {
        await on.yes();
      } catch (err) {
        error.textContent = errorText(err);
      }
    }),
  );
  no.addEventListener("click", on.no);
  return h(
    "div",
    { class: "confirm", role: "group", "aria-labelledby": "report-admin-title" },
    h("h3", { id: "report-admin-title", tabindex: "-1" }, rt("adminAskTitle")),
    h("p", {}, rt("adminAsk1", { who })),
    h("blockquote", {}, msg.text),
    h("p", {}, rt("adminAsk2")),
    h("p", {}, rt("adminAsk3")),
    h("p", {}, rt("adminAsk4")),
    error,
    h("div", { class: "actions" }, yes, no),
  );
}
