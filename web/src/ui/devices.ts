// Pairing screens: "Utiliser mon compte sur cet appareil" (a browser without an account asks to
// join one and shows the code) and "Mes appareils" (a signed-in device lists its account's devices
// and the waiting requests, and approves one once the person typed the code the new device shows).
// No handle or request detail ever leaves these screens (no notification).
import { DeviceChainRefused, WrongPairingCode, type Approval } from "../core/devices";
import type { Messenger } from "../core/messenger";
import { ErrorCode, type DeviceRequestInfo } from "../core/proto";
import { RelayError } from "../core/wire";
import { lang, t } from "../i18n";
import { busy, errorText, type Screen, type Shell } from "./common";
import { field, h, replace } from "./dom";

// The relay pushes no event when a device asks to join: the list is asked for every few seconds,
// only while the screen is in view (never while the page is hidden; back in view, at once).
const REQUESTS_POLL_MS = 3000;

/** What went wrong while pairing; `asked`: the relay had taken the new device's request. */
function pairingError(e: unknown, asked = true): string {
  if (!asked && e instanceof RelayError) {
    // The relay checks the new device's proof under the handle as the account stores it.
    if (e.code === ErrorCode.FORBIDDEN) return t("joinHandleMismatch");
    if (e.code === ErrorCode.LIMIT_REACHED) return t("joinTooMany");
  }
  if (asked && e instanceof RelayError && e.code === ErrorCode.NOT_FOUND) return t("errRequestGone");
  if (e instanceof DeviceChainRefused) return t("joinRefused");
  return errorText(e);
}

function when(ms: number, withDate: boolean): string {
  const opts: Intl.DateTimeFormatOptions = withDate ? { day: "numeric", month: "long", year: "numeric" } : { hour: "2-digit", minute: "2-digit" };
  return new Intl.DateTimeFormat(lang(), opts).format(new Date(ms));
}

/** The code big for the eyes, digit by digit for screen readers. */
function codeBlock(code: string): HTMLElement {
  const digits = code.replace(/\D/g, "").split("").join(" ");
  return h("p", { class: "pairing-code" }, h("span", { "aria-hidden": "true" }, code), h("span", { class: "sr-only" }, t("joinCodeSpoken", { digits })));
}

export class JoinScreen implements Screen {
  el: HTMLElement;
  title = t("joinTitle");
  private abort?: AbortController;

  constructor(
    private readonly shell: Shell,
    private readonly m: Messenger,
  ) {
    this.el = h("section", {});
    this.showForm();
  }

  destroy(): void {
    this.abort?.abort(new Error("left the screen"));
  }

  private showForm(error?: string): void {
    const handle = h("input", { name: "handle", autocomplete: "username", autocapitalize: "none", spellcheck: "false", required: true, maxlength: 32 });
    const handleField = field({ label: t("joinHandleLabel"), hint: t("joinHandleHint"), control: handle });
    const button = h("button", { type: "submit" }, t("joinButton"));
    const form = h("form", { novalidate: true }, handleField.wrap, button);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void busy(button, async () => {
        handleField.error(null);
        const name = handle.value.trim();
        if (name.length < 3) {
          handleField.error(t("errHandleInvalid"));
          handle.focus();
          return;
        }
        await this.run(name);
      });
    });
    replace(this.el, h("h1", { tabindex: "-1" }, t("joinTitle")), h("p", {}, t("joinIntro")), form, h("p", {}, h("a", { href: "/" }, t("linkGoHome"))));
    if (error) {
      handleField.error(error);
      handle.focus();
    }
  }

  private async run(name: string): Promise<void> {
    const abort = (this.abort = new AbortController());
    const status = h("p", { class: "notice", role: "status" });
    const cancel = h("button", { type: "button", class: "secondary" }, t("joinCancel"));
    cancel.addEventListener("click", () => abort.abort(new Error("cancelled")));
    const body = h("div", {}, status);
    const heading = h("h1", { tabindex: "-1" }, t("joinTitle"));
    let asked = false;
    try {
      await this.m.joinAccount(name, {
        signal: abort.signal,
        onWaiting: () => {
          asked = true;
          replace(this.el, heading, body, cancel);
          heading.focus();
          status.textContent = t("joinWaiting");
        },
        onCode: (code) => {
          const title = h("h2", { id: "code-title", tabindex: "-1" }, t("joinCodeTitle"));
          replace(body, h("div", { class: "pairing", role: "group", "aria-labelledby": "code-title" }, title, codeBlock(code), h("p", {}, t("joinCodeWait"))));
          title.focus();
        },
      });
    } catch (e) {
      if (abort.signal.aborted && this.abort !== abort) return;  // Left the screen.
      this.showForm(abort.signal.aborted ? t("approveCancelled") : pairingError(e, asked));
      return;
    }
    this.shell.accountReady("#/");
  }
}

export class DevicesScreen implements Screen {
  el: HTMLElement;
  title = t("devicesTitle");
  private readonly deviceList = h("div", {});
  private readonly requestList = h("div", {});
  private readonly status = h("p", { class: "notice", role: "status" });
  private shownRequests = "-";  // Nothing shown yet.
  private approving = false;
  private timer?: ReturnType<typeof setInterval>;
  private abort?: AbortController;
  private readonly visibility = () => this.poll();

  constructor(private readonly m: Messenger) {
    this.el = h(
      "section",
      {},
      h("h1", {}, t("devicesTitle")),
      h("p", {}, t("devicesIntro")),
      this.deviceList,
      h("h2", { id: "requests-title" }, t("requestsTitle")),
      this.requestList,
      this.status,
      h("p", {}, t("requestsWarning")),
      h("h2", {}, t("devicesHowTitle")),
      h("p", {}, t("devicesHow")),
    );
    this.poll();
    document.addEventListener("visibilitychange", this.visibility);
  }

  // Back in view, the shell calls update() (which asks at once); this only starts or stops the timer.
  private poll(): void {
    clearInterval(this.timer);
    this.timer = document.visibilityState === "hidden" ? undefined : setInterval(() => void this.refreshRequests(), REQUESTS_POLL_MS);
  }

  update(): void {
    if (this.m.state !== "online" || document.visibilityState === "hidden") return;
    if (!this.deviceList.hasChildNodes()) void this.refreshDevices();
    void this.refreshRequests();
  }

  destroy(): void {
    document.removeEventListener("visibilitychange", this.visibility);
    clearInterval(this.timer);
    this.abort?.abort(new Error("left the screen"));
  }

  private async refreshDevices(): Promise<void> {
    try {
      const list = await this.m.ownDevices();
      if (list.length === 0) {
        replace(this.deviceList, h("p", {}, t("devicesNoChain")));
        return;
      }
      replace(
        this.deviceList,
        h(
          "ul",
          { class: "devices" },
          list.map((d) =>
            h("li", {}, h("strong", {}, d.self ? t("devicesThis") : t("devicesOther")), ", ", t("devicesAdded", { date: when(d.addedMs, true) }), ", ", h("span", { class: "fingerprint" }, t("devicesCode", { code: d.fingerprint }))),
          ),
        ),
      );
    } catch (e) {
      replace(this.deviceList, h("p", { class: "error" }, errorText(e)));
    }
  }

  private async refreshRequests(): Promise<void> {
    if (this.approving || this.m.state !== "online") return;
    let list: DeviceRequestInfo[];
    try {
      list = await this.m.deviceRequests();
    } catch {
      return;  // Tried again at the next tick.
    }
    // Requests already answered (with a nonce) cannot be approved from here any more.
    list = list.filter((r) => r.approverNonce.length === 0 && r.deviceId === 0n);
    const shown = list.map((r) => Array.from(r.requestId).join(".")).join(",");
    if (this.approving || shown === this.shownRequests) return;
    this.shownRequests = shown;
    if (list.length === 0) {
      replace(this.requestList, h("p", {}, t("requestsNone")));
      return;
    }
    replace(
      this.requestList,
      h(
        "ul",
        { class: "requests", "aria-labelledby": "requests-title" },
        list.map((r) => {
          const time = when(Number(r.createdMs), false);
          const choose = h("button", { type: "button", "aria-label": t("requestChooseLabel", { time }) }, t("requestChoose"));
          choose.addEventListener("click", () => void busy(choose, () => this.approve(r)));
          return h("li", {}, h("span", {}, t("requestFrom", { time })), " ", choose);
        }),
      ),
    );
  }

  private async approve(request: DeviceRequestInfo): Promise<void> {
    this.approving = true;
    const abort = (this.abort = new AbortController());
    const waiting = h("p", { class: "notice", role: "status" }, t("approveWaiting"));
    const cancel = h("button", { type: "button", class: "secondary" }, t("joinCancel"));
    cancel.addEventListener("click", () => abort.abort(new Error("cancelled")));
    replace(this.requestList, waiting, cancel);
    cancel.focus();
    let approval: Approval;
    try {
      approval = await this.m.startApproval(request, abort.signal);
    } catch (e) {
      this.done(abort.signal.aborted ? t("approveCancelled") : pairingError(e));
      return;
    }
    this.askCode(approval, abort);
  }

  private askCode(approval: Approval, abort: AbortController): void {
    const code = h("input", { name: "code", inputmode: "numeric", autocomplete: "one-time-code", required: true, maxlength: 9 });
    const codeField = field({ label: t("approveCodeLabel"), hint: t("approveCodeHint"), control: code });
    const button = h("button", { type: "submit" }, t("approveButton"));
    const cancel = h("button", { type: "button", class: "secondary" }, t("joinCancel"));
    cancel.addEventListener("click", () => this.done(t("approveCancelled")));
    const form = h("form", { novalidate: true, "aria-labelledby": "requests-title" }, codeField.wrap, button, " ", cancel);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void busy(button, async () => {
        codeField.error(null);
        try {
          await this.m.finishApproval(approval, code.value);
        } catch (err) {
          if (err instanceof WrongPairingCode && err.triesLeft > 0) {
            codeField.error(t("approveWrong", { n: err.triesLeft }));
            code.focus();
            return;
          }
          this.done(err instanceof WrongPairingCode ? t("approveWrongLast") : pairingError(err));
          return;
        }
        this.done(t("approveDone"));
        void this.refreshDevices();
      });
    });
    if (abort.signal.aborted) return;
    replace(this.requestList, form);
    code.focus();
  }

  /** Back to the list of requests, saying how it ended. */
  private done(text: string): void {
    this.approving = false;
    this.abort = undefined;
    this.shownRequests = "-";
    replace(this.requestList);
    this.status.textContent = text;
    (this.el.querySelector("#requests-title") as HTMLElement | null)?.setAttribute("tabindex", "-1");
    (this.el.querySelector("#requests-title") as HTMLElement | null)?.focus();
    void this.refreshRequests();
  }
}
