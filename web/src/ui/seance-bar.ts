// The séance bar of a group (loaded with a group that has séance rules): the séance in words (open
// since when, whose floor, raised hands), the buttons of this person's role, and, at each opening,
// the charter to confirm before writing. Changes are said in a polite live region (never during a
// safety-kit pause); "La parole est à vous" once in an alert. While no séance is open, the planned
// ones are told on this person's own clocks (seance-when.ts); a group whose séances are planned
// but that has no séance rules shows only those. Gives the composer its reason to close.
import type { Messenger, SeanceView } from "../core/messenger";
import type { SeanceAction } from "../core/seances";
import { lang } from "../i18n";
import { st } from "../i18n-seance";
import { localZone, nextChange } from "../core/seance-schedule";
import { busy, errorText } from "./common";
import { h, replace } from "./dom";
import { safetyPrefs } from "./safety-prefs";
import { scheduleLines } from "./seance-when";

/** "18 h 02" in French, the page language's usual form otherwise. */
function clock(ms: number): string {
  const d = new Date(ms);
  if (lang() !== "fr") return d.toLocaleTimeString("en", { hour: "numeric", minute: "2-digit" });
  return `${d.getHours()} h ${String(d.getMinutes()).padStart(2, "0")}`;
}

function stateWords(v: SeanceView, me: string): HTMLElement[] {
  if (!v.open) return [h("p", { class: "seance-state" }, st("closed"))];
  const floor = v.floor === "" ? st("floorFree") : v.floor === me ? st("floorMine") : st("floorTo", { name: v.floor });
  return [
    h("p", { class: "seance-state" }, st("openSince", { time: clock(v.openedMs) }), " ", floor),
    h("p", { class: "seance-hands" }, v.hands.length ? st("hands", { names: v.hands.join(", ") }) : st("noHands")),
  ];
}

export class SeanceBar {
  readonly el = h("section", { class: "seance-bar", "aria-labelledby": "seance-title" });
  private readonly heading = h("h2", { id: "seance-title", tabindex: "-1" }, st("title"));
  private readonly box = h("div");
  private readonly live = h("div", { class: "sr-only", "aria-live": "polite", "aria-atomic": "true" });
  private readonly alert = h("div", { class: "sr-only", role: "alert" });
  private readonly status = h("p", { class: "notice", role: "status" });
  private shown = "";
  private last?: SeanceView;
  private timer?: ReturnType<typeof setTimeout>;

  constructor(
    private readonly m: Messenger,
    private readonly peer: string,
  ) {
    this.el.append(this.heading, this.box, this.status, this.live, this.alert);
  }

  /** Redraws when the séance changed; returns why the composer is closed, or null. */
  render(): string | null {
    const v = this.m.seanceView(this.peer);
    if (!v) return null;
    // Planned séances are told while none is open (on this device's clocks and in its language).
    const now = Date.now();
    const planned = v.open ? [] : scheduleLines(v.planned, v.zone, { zone: localZone(), lang: lang(), nowMs: now });
    this.redrawWhenDue(v.open ? undefined : nextChange(v.planned, v.zone, now), now);
    const shown = JSON.stringify({ v, planned });
    if (shown !== this.shown) {
      this.shown = shown;
      this.announce(this.last, v);
      this.last = v;
      const plan = planned.length ? h("div", { class: "seance-plan" }, h("h3", {}, st("planTitle")), planned.map((line) => h("p", {}, line))) : null;
      if (v.rules) replace(this.box, stateWords(v, this.me()), plan, this.charter(v), this.buttons(v));
      else replace(this.box, plan ?? h("p", { class: "seance-state" }, st("planNone")));
    }
    if (v.gate === "outsideSeance") return st("gateOutside");
    if (v.gate === "floorElsewhere") return st("gateFloor", { name: v.floor });
    if (v.gate === "charterUnconfirmed") return st("gateCharter");
    return null;
  }

  // "Prochaine séance" becomes "en ce moment" when it starts, and the one after when it ends, even
  // with nothing else happening on the page (at most an hour apart; none once the bar is gone).
  // None while the page is hidden: back in view, the conversation's update() draws the bar again.
  private redrawWhenDue(at: number | undefined, now: number): void {
    clearTimeout(this.timer);
    if (at === undefined || document.visibilityState === "hidden") return;
    this.timer = setTimeout(() => void (this.el.isConnected && document.visibilityState !== "hidden" && this.render()), Math.min(at - now + 1000, 3_600_000));
  }

  private me(): string {
    return this.m.account?.handle ?? "";
  }

  // What changed, said once: the opening and the closing to everyone; the floor given to this
  // person in an alert, taken back from them, or given to someone else; new raised hands to the
  // facilitators only (they give the floor).
  private announce(before: SeanceView | undefined, v: SeanceView): void {
    if (!before || safetyPrefs()?.paused()) return;
    const me = this.me();
    if (v.floor === me && before.floor !== me) return this.say(this.alert, st("floorMine"));
    let text = "";
    if (v.open && !before.open) text = st("sayOpened");
    else if (!v.open && before.open) text = st("sayClosed");
    else if (before.floor === me && v.floor !== me) text = st("sayFloorBackMine");
    else if (v.floor !== before.floor && v.floor !== "") text = st("sayFloor", { name: v.floor });
    else if (v.floor !== before.floor) text = st("sayFloorFree");
    else if (v.facilitator) {
      const raised = v.hands.filter((x) => !before.hands.includes(x) && x !== me);
      if (raised.length) text = st(raised.length === 1 ? "sayHand" : "sayHands", { name: raised[0], names: raised.join(", ") });
    }
    if (text) this.say(this.live, text);
  }

  // Emptied first, then filled: the same words said twice are said again.
  private say(region: HTMLElement, text: string): void {
    region.textContent = "";
    setTimeout(() => (region.textContent = text), 50);
  }

  private charter(v: SeanceView): HTMLElement | null {
    if (v.gate !== "charterUnconfirmed") return null;
    return h(
      "div",
      { class: "seance-charter" },
      h("h3", {}, st("charterTitle")),
      h("p", {}, st("charterIntro")),
      h("blockquote", {}, v.charter),
      this.button(st("confirm"), { case: "charterConfirmed" }),
    );
  }

  private buttons(v: SeanceView): HTMLElement {
    const me = this.me();
    const out: HTMLElement[] = [];
    if (v.facilitator) {
      out.push(this.button(v.open ? st("close") : st("open"), v.open ? { case: "closed" } : { case: "opened" }));
      if (v.open) for (const x of v.hands) out.push(this.button(st("give", { name: x }), { case: "floorGiven", handle: x }));
      if (v.open && v.floor !== "") out.push(this.button(st("back"), { case: "floorBack" }));
    } else if (v.open) {
      const up = v.hands.includes(me);
      out.push(this.button(up ? st("lower") : st("raise"), up ? { case: "handLowered" } : { case: "handRaised" }));
    }
    return h("div", { class: "seance-actions" }, out);
  }

  private button(label: string, action: SeanceAction): HTMLButtonElement {
    const b = h("button", { type: "button" }, label);
    b.addEventListener("click", () =>
      void busy(b, async () => {
        try {
          this.status.textContent = "";
          await (await this.m.seances()).act(this.peer.slice(1), action);
          // The bar is drawn anew: a keyboard user goes on from its title, not from the page's top.
          this.render();
          if (!b.isConnected) this.heading.focus();
        } catch (err) {
          this.status.textContent = errorText(err);
        }
      }),
    );
    return b;
  }
}
