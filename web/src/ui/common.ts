// What the screens share: the Screen contract, errors in words, times, thread addresses, the busy
// button and the browser warning. In the first load (the shell and the contact link page use it).
import { OtherInstance, PeerUnreachable } from "../core/messenger";
import { BadBackupFile, BadPassphrase } from "../core/backup";
import { DeviceChainRefused } from "../core/devices";
import { ErrorCode } from "../core/proto";
import { ConnectionLost, RelayError } from "../core/wire";
import { lang, t, type Key } from "../i18n";
import { h } from "./dom";

export interface Screen {
  el: HTMLElement;
  title: string;
  update?(): void;
  destroy?(): void;
}

/** What a screen needs of the shell. */
export interface Shell {
  navigate(hash: string): void;
  /** Called once an account exists (registration, restore or pairing). */
  accountReady(hash: string): void;
}

const byCode: Partial<Record<ErrorCode, Key>> = {
  [ErrorCode.HANDLE_TAKEN]: "errHandleTaken",
  [ErrorCode.INVALID_HANDLE]: "errHandleInvalid",
  [ErrorCode.REGISTRATION_CODE_REQUIRED]: "errCodeRequired",
  [ErrorCode.REGISTRATION_CODE_INVALID]: "errCodeInvalid",
  [ErrorCode.NOT_FOUND]: "errNotFound",
  [ErrorCode.SHUTTING_DOWN]: "errOffline",
};

export function errorText(e: unknown): string {
  if (e instanceof RelayError) return t(byCode[e.code] ?? "errGeneric");
  if (e instanceof ConnectionLost) return t("errOffline");
  if (e instanceof PeerUnreachable) return t("errUnreachable");
  if (e instanceof DeviceChainRefused) return t("errChainRefused");
  if (e instanceof BadBackupFile) return t("restoreBadFile");
  if (e instanceof BadPassphrase) return t("restoreBadPassphrase");
  if (e instanceof OtherInstance) return t("restoreOtherInstance");
  return t("errGeneric");
}

/** A registration refused for its code (the error goes next to the code field). */
export function isCodeError(e: unknown): boolean {
  return e instanceof RelayError && (e.code === ErrorCode.REGISTRATION_CODE_INVALID || e.code === ErrorCode.REGISTRATION_CODE_REQUIRED);
}

export function formatTime(ms: number): string {
  const d = new Date(ms);
  const sameDay = new Date().toDateString() === d.toDateString();
  const opts: Intl.DateTimeFormatOptions = sameDay
    ? { hour: "2-digit", minute: "2-digit" }
    : { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
  return new Intl.DateTimeFormat(lang(), opts).format(d);
}

/** The address of a thread: a direct conversation by the peer's handle, a group by its id. */
export function peerRoute(peer: string): string {
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

/** Keys live in this browser only: clearing its data loses them (said on the link and account pages). */
export function browserWarning(): HTMLElement {
  return h("aside", { class: "warning", "aria-labelledby": "warn-title" }, h("h2", { id: "warn-title" }, t("browserWarningTitle")), h("p", {}, t("browserWarning")));
}

/** The pseudonym field of the registration forms. No maxlength: a pasted pseudonym that is too long
 * is said to be too long (handle-check.ts), never cut without a word. */
export function handleInput(autocomplete = "off"): HTMLInputElement {
  return h("input", { name: "handle", autocomplete, autocapitalize: "none", spellcheck: "false", required: true });
}

let flash = "";

/** A sentence for the next screen to say once (e.g. after a conversation was erased, the list says so). */
export function setFlash(text: string): void {
  flash = text;
}

export function takeFlash(): string {
  const text = flash;
  flash = "";
  return text;
}
