// Planning a group's séances, on its admin screen (loaded with it, for facilitators only): a day,
// an hour on the facilitator's own clocks, a length, once or every week; then what is already
// planned, each with a button to remove it. Saved in the group's signed profile (seances.ts
// setSchedule), which every member reads in their own time (seance-bar.ts).
import { localZone, slotFrom, slotOccurrences, zoneOr, type Slot } from "../core/seance-schedule";
import type { Seances } from "../core/seances";
import { lang } from "../i18n";
import { st } from "../i18n-seance";
import { busy } from "./common";
import { field, h, replace } from "./dom";
import { actionError } from "./group-forms";
import { durationWords, slotWords } from "./seance-when";

const LENGTHS = [30, 45, 60, 90, 120, 150, 180];

/** The words of a refusal: the group has no name yet, or anything else as the admin screen says it. */
function planError(err: unknown): string {
  return (err as Error)?.name === "ScheduleRefused" && (err as { why?: string }).why === "unnamed" ? st("planUnnamed") : actionError(err);
}

export class SeancePlan {
  readonly el: HTMLElement;
  private readonly list = h("div", { class: "seance-planned" });
  private shown = "";

  constructor(
    private readonly seances: Seances,
    private readonly id: string,
    private readonly say: (text: string) => void,
  ) {
    this.el = h("div", {}, this.form(), this.list);
    this.update();
  }

  private form(): HTMLElement {
    const today = new Date(Date.now() - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 10);
    const date = h("input", { type: "date", name: "plan-date", min: today });
    const hour = h("input", { type: "time", name: "plan-hour" });
    const length = h("select", { name: "plan-length" }, LENGTHS.map((n) => h("option", { value: String(n), selected: n === 90 }, durationWords(n, lang()))));
    const weekly = h("input", { type: "checkbox", name: "plan-weekly" });
    const dateField = field({ label: st("planDate"), control: date });
    const hourField = field({ label: st("planHour"), hint: st("planHourHint"), control: hour });
    const lengthField = field({ label: st("planLength"), control: length });
    const button = h("button", { type: "submit" }, st("planAdd"));
    const form = h(
      "form",
      { novalidate: true, "aria-labelledby": "admin-plan" },
      h("h2", { id: "admin-plan" }, st("planFormTitle")),
      h("p", {}, st("planIntro")),
      dateField.wrap,
      hourField.wrap,
      lengthField.wrap,
      h("p", {}, h("label", { class: "choice" }, weekly, " ", st("planWeeklyLabel"))),
      button,
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      dateField.error(null);
      hourField.error(null);
      if (!date.value) return (dateField.error(st("planBadDate")), date.focus());
      if (!hour.value) return (hourField.error(st("planBadHour")), hour.focus());
      const slot = slotFrom(localZone(), date.value, hour.value.slice(0, 5), Number(length.value), weekly.checked);
      if (!slot) return (dateField.error(st("planBadDate")), date.focus());
      if (!slot.weekly && slot.startMs < Date.now()) return (dateField.error(st("planPast")), date.focus());
      void busy(button, async () => {
        if (await this.save((slots) => [...slots, slot], st("planAdded"))) {
          date.value = "";
          hour.value = "";
          weekly.checked = false;
        }
      });
    });
    return form;
  }

  /** Saves the schedule `edit` makes of the current one (séances already over are dropped). */
  private async save(edit: (slots: Slot[]) => Slot[], done: string): Promise<boolean> {
    const { slots, zone } = this.seances.schedule(this.id);
    const groupZone = zone || localZone();
    const coming = (s: Slot) => slotOccurrences(s, 0, zoneOr(groupZone), Date.now(), 1).length > 0;
    try {
      await this.seances.setSchedule(this.id, edit(slots.filter(coming)), groupZone);
      this.update();
      this.say(done);
      return true;
    } catch (err) {
      this.say(planError(err));
      return false;
    }
  }

  /** The planned séances, redrawn only when they change. */
  update(): void {
    const { slots, zone } = this.seances.schedule(this.id);
    const reader = { zone: localZone(), lang: lang(), nowMs: Date.now() };
    const items = slots
      .map((slot, i) => ({ slot, i }))
      .filter(({ slot }) => slotOccurrences(slot, 0, zoneOr(zone), reader.nowMs, 1).length)
      .map(({ slot, i }) => ({ i, words: slotWords(slot, zone, reader), slot }));
    const shown = JSON.stringify(items);
    if (shown === this.shown) return;
    this.shown = shown;
    replace(
      this.list,
      h("h3", {}, st("planListTitle")),
      items.length
        ? h(
            "ul",
            {},
            items.map(({ words, slot }) => {
              const remove = h("button", { type: "button", "aria-label": st("planRemove", { what: words }) }, st("planRemoveShort"));
              remove.addEventListener("click", () =>
                void busy(remove, async () => {
                  await this.save((all) => all.filter((s) => !same(s, slot)), st("planRemoved"));
                }),
              );
              return h("li", {}, h("span", {}, words), " ", remove);
            }),
          )
        : h("p", {}, st("planNone")),
    );
  }
}

const same = (a: Slot, b: Slot) => a.startMs === b.startMs && a.minutes === b.minutes && a.weekly === b.weekly;
