// "Supprimer mon compte" on the account page (issue 14 point 7): a first step says exactly what
// happens, a second asks once more; then the Messenger leaves each group, deletes the account on
// the relay and erases this device's store. The only facilitator of a group is told why it cannot
// be done yet, and nothing is sent. Offline, nothing is done and the person is told.
import { LastFacilitator, type Messenger } from "../core/messenger";
import { ConnectionLost } from "../core/wire";
import { t } from "../i18n";
import { busy, errorText, setFlash, type Shell } from "./common";
import { h, replace } from "./dom";
import { threadTitle } from "./notices";

/** Why the account cannot be deleted yet: the groups it alone leads. */
function onlyLead(groups: Parameters<typeof threadTitle>[0][]): HTMLElement[] {
  const names = groups.map((g) => threadTitle(g)).join(" ; ");
  return [h("p", { class: "notice" }, t("deleteOnlyLead", { names })), h("p", {}, t("deleteOnlyLeadHow"))];
}

function whatHappens(m: Messenger): HTMLElement[] {
  const handle = m.account!.handle;
  const helper = m.account!.role === "helper" && !m.professional;
  return [
    h("p", { class: "notice" }, t("deleteWhat")),
    h(
      "ul",
      {},
      h("li", {}, t("deleteGroups")),
      h("li", {}, t("deleteNobody", { handle })),
      helper ? h("li", {}, t("deleteLinks")) : null,
      h("li", {}, t("deleteDevice")),
      h("li", {}, t("deleteOthersKeep")),
      h("li", {}, t("deleteNoUndo")),
    ),
  ];
}

/** The page's own files kept for offline use (main.ts, public/sw.js) go too: nothing stays here. */
function forgetFiles(): void {
  void globalThis.caches?.keys().then((keys) => Promise.all(keys.map((k) => caches.delete(k)))).catch(() => {});
  void navigator.serviceWorker?.getRegistrations().then((regs) => Promise.all(regs.map((r) => r.unregister()))).catch(() => {});
}

export function deletionSection(shell: Shell, m: Messenger): HTMLElement {
  const button = h("button", { type: "button", class: "danger" }, t("deleteButton"));
  const box = h("div", { role: "group", "aria-label": t("deleteTitle"), hidden: true });
  const status = h("p", { class: "notice", role: "status", tabindex: "-1" });
  const back = () => {
    box.hidden = true;
    replace(box);
    button.hidden = false;
    button.focus();
  };
  /** One step: its words (focused first, read first) and its buttons. */
  const step = (words: HTMLElement[], buttons: HTMLButtonElement[]) => {
    const question = h("div", { tabindex: "-1", class: "confirm" }, words);
    replace(box, question, h("div", { class: "actions" }, buttons));
    box.hidden = false;
    button.hidden = true;
    question.focus();
  };
  const no = (text = t("deleteNo")) => {
    const b = h("button", { type: "button", class: "secondary" }, text);
    b.addEventListener("click", back);
    return b;
  };
  const finish = async (yes: HTMLButtonElement) => {
    status.textContent = t("deleteWorking");
    try {
      await m.deleteAccount(m.account!.handle);
    } catch (err) {
      if (err instanceof LastFacilitator) return step(onlyLead(err.groups), [no(t("leaveOnlyLeadOk"))]);
      status.textContent = err instanceof ConnectionLost ? t("deleteOffline") : errorText(err);
      yes.focus();
      return;
    }
    forgetFiles();
    setFlash(t("deleteDone"));
    shell.accountReady("#/");  // No account any more: the shell draws the home page, which says it.
  };
  const last = () => {
    const yes = h("button", { type: "button", class: "danger" }, t("deleteYes"));
    yes.addEventListener("click", () => void busy(yes, () => finish(yes)));
    step([h("p", { class: "notice" }, t("deleteLast", { handle: m.account!.handle }))], [yes, no()]);
  };
  button.addEventListener("click", () => {
    status.textContent = "";
    const alone = m.groupsLedAlone();
    if (alone.length > 0) return step(onlyLead(alone), [no(t("leaveOnlyLeadOk"))]);
    if (m.state !== "online") {
      status.textContent = t("deleteOffline");
      return status.focus();
    }
    const next = h("button", { type: "button", class: "danger" }, t("deleteContinue"));
    next.addEventListener("click", last);
    step(whatHappens(m), [next, no()]);
  });
  return h("section", { "aria-labelledby": "delete-title" }, h("h2", { id: "delete-title" }, t("deleteTitle")), h("p", {}, t("deleteIntro")), h("p", {}, button), box, status);
}
