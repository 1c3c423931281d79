// Verifying a person (issue 11): the safety number both sides compare, and the devices behind it.
import type { Messenger } from "../core/messenger";
import { t } from "../i18n";
import { busy, peerRoute, type Screen } from "./common";
import { h, replace } from "./dom";

/**
 * Verifying a person: the safety number both see (docs/safety-numbers.md), both sides' devices, and
 * a button to confirm once compared. The number confirmed is the one shown: if the devices change
 * meanwhile, the confirmation is refused and the new number is shown.
 */
export class VerifyScreen implements Screen {
  el: HTMLElement;
  title: string;
  private readonly body = h("div", {});
  private readonly status = h("p", { class: "notice", role: "status" });
  private shown = "";

  constructor(
    private readonly m: Messenger,
    private readonly peer: string,
    private readonly handle: string,
  ) {
    this.title = t("verifyTitle", { name: handle });
    const back = peerRoute(peer);
    this.el = h(
      "section",
      { class: "verify" },
      h("h1", {}, this.title),
      h("p", {}, h("a", { href: back }, t("verifyBack"))),
      this.body,
      this.status,
    );
  }

  update(): void {
    const view = this.m.safetyNumber(this.peer, this.handle);
    const shown = JSON.stringify(view ?? null);
    if (shown === this.shown) return;
    if (this.shown && view) this.status.textContent = t("verifyChangedMeanwhile");
    this.shown = shown;
    if (!view) {
      replace(this.body, h("p", { class: "warning-inline" }, t("verifyUnavailable", { name: this.handle })));
      return;
    }
    const name = this.handle;
    const state =
      view.verification === "verified" ? t("verifyStateVerified", { name }) : view.verification === "changed" ? t("verifyStateChanged", { name }) : t("verifyStateNone", { name });
    const confirm = h("button", { type: "button" }, t("verifySame"));
    confirm.addEventListener("click", () =>
      busy(confirm, async () => {
        try {
          await this.m.markVerified(this.peer, this.handle, view.number);
          this.status.textContent = t("verifyDone", { name });
        } catch {
          this.status.textContent = t("verifyChangedMeanwhile");
        }
        this.update();
      }),
    );
    replace(
      this.body,
      h("p", { class: view.verification === "changed" ? "warning-inline" : "" }, state),
      h("p", {}, t("verifyIntro", { name })),
      h("p", {}, t("verifyHow", { name })),
      h("h2", { id: "number-title" }, t("verifyNumberTitle")),
      h("ol", { class: "safety-number", "aria-labelledby": "number-title" }, view.number.split(" ").map((g) => h("li", {}, g))),
      h("h2", {}, t("verifyTheirDevices", { name, n: view.devices.length })),
      h("ul", {}, view.devices.map((code) => h("li", {}, t("deviceItem", { code })))),
      h("h2", {}, t("verifyOwnDevices", { n: view.ownDevices.length })),
      h("ul", {}, view.ownDevices.map((code) => h("li", {}, t("deviceItem", { code })))),
      view.verification === "verified" ? null : h("p", {}, confirm),
      h("p", {}, t("verifyDifferent")),
    );
  }
}
