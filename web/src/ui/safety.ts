// The safety kit on every screen (issue 13, item 4), in the first load so that it works at once and
// offline: "Quitter vite" (a button, or Escape pressed twice) and the crisis card "Besoin d'aide
// maintenant ?". The pause and the hidden words are in safety-prefs.ts and safety-screen.ts.
//
// Quick exit replaces the page with a neutral site and keeps Cercle out of the tab's Back button:
// every history entry Cercle makes is numbered (history.state.cercleDepth: how many Cercle entries
// come before it in this tab), so the exit first goes back to the first one, then replaces it with
// location.replace (which adds no entry). Back from the neutral page then leads to what was open
// before Cercle. What a web page cannot erase, and a browser still keeps:
// - the entries after the first one stay as "Forward" entries (a replacement never prunes them, and
//   only a new entry would, which would itself stay behind the neutral page);
// - entries of a Cercle page opened by a link from another page (a new document without our number:
//   counted from 0, so the exit never goes back past a page that is not Cercle's);
// - the browser's own history list, its address bar suggestions, its cache and this site's stored
//   data (IndexedDB): only the person can clear them, in the browser's settings. The safety screen
//   says so in words.
import { t, type Key } from "../i18n";
import { h } from "./dom";

/** Used when index.html names no other neutral page: a weather site, common and harmless. */
export const DEFAULT_EXIT_URL = "https://meteofrance.com/";
const EXIT_FLAG = "cercle.exit";  // sessionStorage: an exit is going back through older pages.
const EXIT_FLAG_TTL_MS = 10_000;
const BACK_WAIT_MS = 1_000;
/** The second Escape must come this soon after the first (slow enough for unsteady hands). */
export const ESCAPE_WINDOW_MS = 1_500;

/**
 * Where "Quitter vite" goes: `<meta name="cercle-quick-exit" content="https://…">` in index.html,
 * which an association may set to a page that looks ordinary for its public, when it is an http(s)
 * address of another site; otherwise DEFAULT_EXIT_URL. (A later server setting can fill the meta.)
 */
export function exitTarget(): string {
  const wanted = document.querySelector<HTMLMetaElement>('meta[name="cercle-quick-exit"]')?.content;
  if (wanted) {
    try {
      const url = new URL(wanted);
      if ((url.protocol === "https:" || url.protocol === "http:") && url.origin !== location.origin) return url.href;
    } catch {
      // Not an address: the default.
    }
  }
  return DEFAULT_EXIT_URL;
}

// ---- The numbering of Cercle's history entries ----

let depth = 0;

function depthOf(state: unknown): number | undefined {
  const d = (state as { cercleDepth?: unknown } | null)?.cercleDepth;
  return typeof d === "number" && Number.isInteger(d) && d >= 0 ? d : undefined;
}

/** A new entry (a link to "#/…") has no number yet: it is one more than the entry it came from. */
function numberEntry(): void {
  const known = depthOf(history.state);
  if (known !== undefined) {
    depth = known;
    return;
  }
  depth += 1;
  history.replaceState({ cercleDepth: depth }, "");
}

/** Starts numbering. A reload keeps its entry's number; a page opened from elsewhere starts at 0. */
export function trackHistory(): void {
  depth = depthOf(history.state) ?? 0;
  history.replaceState({ cercleDepth: depth }, "");
  window.addEventListener("popstate", numberEntry);
  window.addEventListener("hashchange", numberEntry);
  window.addEventListener("pageshow", (e) => e.persisted && continueExit());
}

/** history.pushState for the page's own navigation: the new entry is numbered. */
export function pushEntry(url: string): void {
  depth += 1;
  history.pushState({ cercleDepth: depth }, "", url);
}

/** history.replaceState keeping the entry's number. */
export function replaceEntry(url: string): void {
  history.replaceState({ cercleDepth: depth }, "", url);
}

// ---- Quick exit ----

let exiting = false;

/** True once the page is leaving: the shell draws nothing more (no title, no screen). */
export function isExiting(): boolean {
  return exiting;
}

function leave(target: string): void {
  try {
    sessionStorage.removeItem(EXIT_FLAG);
  } catch {
    // Storage refused: nothing was set.
  }
  location.replace(target);
}

/** Hides the page at once: the neutral site may take seconds to load on a slow connection. */
function hideEverything(): void {
  document.title = "";
  document.body.replaceChildren();
}

/** "Quitter vite": back to Cercle's first entry in this tab, then the neutral page in its place. */
export function quickExit(): void {
  if (exiting) return;
  exiting = true;
  const target = exitTarget();
  hideEverything();
  if (depth === 0) return leave(target);
  try {
    sessionStorage.setItem(EXIT_FLAG, String(Date.now()));
  } catch {
    return leave(target);  // Without it an older page could not finish the exit: replace this one.
  }
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    leave(target);
  };
  // The first entry is this page (popstate), or an older page load of Cercle, which finishes the
  // exit itself (continueExit). The timer covers a browser that does not go back at all.
  window.addEventListener("popstate", finish, { once: true });
  setTimeout(finish, BACK_WAIT_MS);
  history.go(-depth);
}

/** Called first when a page loads: finishes an exit that went back to an older Cercle page. */
export function continueExit(): boolean {
  let at = 0;
  try {
    at = Number(sessionStorage.getItem(EXIT_FLAG) ?? 0);
  } catch {
    return false;
  }
  if (!at || Date.now() - at > EXIT_FLAG_TTL_MS) return false;
  exiting = true;
  hideEverything();
  leave(exitTarget());
  return true;
}

/**
 * Escape pressed twice within ESCAPE_WINDOW_MS leaves. Decisions: an Escape that closes a dialog
 * (the crisis card) is the dialog's and does not count; an Escape held down counts once; an Escape
 * that ends a text composition (IME) does not count. An Escape typed in a text field counts: the
 * person writing a message is the one who may need to leave, and Escape does nothing else there.
 */
export function listenForEscape(): void {
  let last = -Infinity;
  document.addEventListener(
    "keydown",
    (e) => {
      if ((e.key !== "Escape" && e.key !== "Esc") || e.repeat || e.isComposing) return;
      if (document.querySelector("dialog[open]")) {
        last = -Infinity;
        return;
      }
      const now = performance.now();
      if (now - last <= ESCAPE_WINDOW_MS) quickExit();
      else last = now;
    },
    true,
  );
}

// ---- The crisis card ----

/** A contact of the association, shown on the crisis card under the national numbers. */
export interface AssociationContact {
  name: string;
  /** What it is for and when, in the association's words (e.g. "Permanence, du lundi au vendredi"). */
  details?: string;
  phone?: string;
  sms?: string;
  /** An https address (a page with the association's hours, a chat, a form). */
  url?: string;
}

/**
 * The association's own contacts, from the relay's hello (HelloResult.association, the instance's
 * cercle.toml); empty until a hello said some, and then the card shows no such section.
 */
let associationContacts: readonly AssociationContact[] = [];

export function setAssociationContacts(list: readonly AssociationContact[]): void {
  associationContacts = list;
}

/** What the page shows of the association hosting the instance (only an https page is kept). */
export interface AssociationInfo {
  name: string;
  page?: string;
  answerTimes: string;
}

let association: AssociationInfo | undefined;

/**
 * Keeps what a hello said of the association (HelloResult.association): its contacts for the
 * crisis card, its name, page and usual answer times for the contact and broken-link pages. A
 * relay could show false contacts; France's numbers are built into the page and stay first.
 */
export function learnAssociation(a: (AssociationInfo & { contacts: readonly AssociationContact[] }) | undefined): void {
  if (!a) return;
  association = { name: a.name, page: a.page?.startsWith("https://") ? a.page : undefined, answerTimes: a.answerTimes };
  setAssociationContacts(a.contacts.filter((c) => c.name).map((c) => ({ name: c.name, details: c.details || undefined, phone: c.phone || undefined, sms: c.sms || undefined, url: c.url || undefined })));
}

export function associationInfo(): AssociationInfo | undefined {
  return association;
}

/** France's numbers, in the order of the issue. `what` says in plain words when to use it. */
const NATIONAL: readonly { number: string; sms?: boolean; what: Key }[] = [
  { number: "3114", what: "crisis3114" },
  { number: "15", what: "crisis15" },
  { number: "112", what: "crisis112" },
  { number: "114", sms: true, what: "crisis114" },
  { number: "119", what: "crisis119" },
  { number: "3919", what: "crisis3919" },
];

/** Only digits and "+" go into a tel: or sms: address. */
function dialable(number: string): string {
  return number.replace(/[^\d+]/g, "");
}

function nationalItem(n: (typeof NATIONAL)[number]): HTMLElement {
  const href = `${n.sms ? "sms" : "tel"}:${n.number}`;
  const label = t(n.sms ? "crisisSms" : "crisisCall", { n: n.number });
  return h("li", { class: "crisis-item" }, h("a", { href, class: "call" }, label), h("p", {}, t(n.what)));
}

function contactItem(c: AssociationContact): HTMLElement {
  const links: HTMLElement[] = [];
  if (c.phone) links.push(h("a", { href: `tel:${dialable(c.phone)}`, class: "call" }, t("crisisCall", { n: c.phone })));
  if (c.sms) links.push(h("a", { href: `sms:${dialable(c.sms)}`, class: "call" }, t("crisisSms", { n: c.sms })));
  if (c.url?.startsWith("https://")) links.push(h("a", { href: c.url, rel: "noreferrer" }, t("crisisWebsite", { name: c.name })));
  return h("li", { class: "crisis-item" }, h("h3", {}, c.name), c.details ? h("p", {}, c.details) : null, links.map((a) => h("p", {}, a)));
}

function crisisCard(): HTMLDialogElement {
  const title = h("h2", { id: "crisis-title", tabindex: "-1" }, t("crisisTitle"));
  const close = h("button", { type: "button", class: "secondary" }, t("crisisClose"));
  const own =
    associationContacts.length > 0
      ? h("section", { "aria-labelledby": "crisis-own" }, h("h3", { id: "crisis-own" }, t("crisisOwnTitle")), h("ul", { class: "crisis-list" }, associationContacts.map(contactItem)))
      : null;
  const dialog = h(
    "dialog",
    { class: "crisis", "aria-labelledby": "crisis-title" },
    title,
    h("p", {}, exitButton()),  // The page behind a modal card is out of reach: the card has its own.
    h("p", { class: "notice" }, t("crisisDanger")),
    h("ul", { class: "crisis-list" }, NATIONAL.map(nationalItem)),
    own,
    h("p", {}, t("crisisFree")),
    close,
  );
  close.addEventListener("click", () => dialog.close());
  return dialog;
}

/** Opens the crisis card as a modal dialog (Escape or "Fermer" closes it; focus goes back). */
export function openCrisisCard(opener?: HTMLElement): void {
  document.querySelector("dialog.crisis")?.remove();
  const dialog = crisisCard();
  dialog.addEventListener("close", () => {
    dialog.remove();
    opener?.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  dialog.querySelector<HTMLElement>("#crisis-title")?.focus();
}

function exitButton(): HTMLButtonElement {
  const exit = h("button", { type: "button", class: "quick-exit" }, t("quickExit"));
  exit.addEventListener("click", quickExit);
  return exit;
}

/** The bar at the top of every screen: help first, quick exit at the end of the line. */
export function safetyBar(): HTMLElement {
  const help = h("button", { type: "button", class: "help-now", "aria-haspopup": "dialog" }, t("helpNow"));
  help.addEventListener("click", () => openCrisisCard(help));
  return h("div", { class: "safety-bar", role: "region", "aria-label": t("safetyBarLabel") }, help, exitButton());
}
