// The "Sécurité" screen (#/safety, issue 13 item 4): how to leave quickly and what the browser still
// keeps, "faire une pause" for a chosen time, and the words to hide. Loaded when first opened.
import { t } from "../i18n";
import { busy, formatTime, type Screen } from "./common";
import { field, h, replace } from "./dom";
import { exitTarget } from "./safety";
import { MAX_WORDS, cleanWord, safetyPrefs, type SafetyPrefs } from "./safety-prefs";

const HOUR = 3_600_000;
const DURATIONS = [
  { id: "hour", ms: HOUR, label: "pauseHour" },
  { id: "day", ms: 24 * HOUR, label: "pauseDay" },
  { id: "week", ms: 7 * 24 * HOUR, label: "pauseWeek" },
  { id: "off", ms: null, label: "pauseUntilOff" },
] as const;

export class SafetyScreen implements Screen {
  el: HTMLElement;
  title = t("safetyTitle");
  private readonly prefs: SafetyPrefs;
  private readonly pauseBox = h("div", {});
  private readonly words = h("div", {});
  private readonly status = h("p", { class: "notice", role: "status" });
  private pauseShown = "";

  constructor() {
    this.prefs = safetyPrefs()!;
    this.el = h(
      "section",
      {},
      h("h1", {}, this.title),
      this.status,
      this.exitSection(),
      h("section", { "aria-labelledby": "pause-title" }, h("h2", { id: "pause-title" }, t("pauseTitle")), h("p", {}, t("pauseIntro")), this.pauseBox),
      this.wordsSection(),
    );
  }

  private exitSection(): HTMLElement {
    const site = new URL(exitTarget()).host;
    return h(
      "section",
      { "aria-labelledby": "exit-title" },
      h("h2", { id: "exit-title" }, t("safetyExitTitle")),
      h("p", {}, t("safetyExitHow", { site })),
      h("p", {}, t("safetyExitKey")),
      h("p", { class: "warning-inline" }, t("safetyExitHistory")),
    );
  }

  /** While off: the choice of a duration and "Commencer". While on: until when, and "Arrêter". */
  private renderPause(): void {
    const end = this.prefs.pauseEnd();
    const shown = String(end);
    if (shown === this.pauseShown) return;
    this.pauseShown = shown;
    if (end !== undefined) {
      const stop = h("button", { type: "button", class: "secondary" }, t("pauseEnd"));
      stop.addEventListener("click", () =>
        busy(stop, async () => {
          await this.prefs.endPause();
          this.status.textContent = t("pauseEnded");
          this.pauseBox.querySelector("input")?.focus();
        }),
      );
      replace(this.pauseBox, h("p", { class: "notice" }, end === null ? t("pauseOn") : t("pauseOnUntil", { time: formatTime(end) })), stop);
      return;
    }
    const radios = DURATIONS.map((d, i) =>
      h("div", { class: "choice" }, h("input", { type: "radio", name: "pause", id: `pause-${d.id}`, value: d.id, checked: i === 0 }), h("label", { for: `pause-${d.id}` }, t(d.label))),
    );
    const start = h("button", { type: "submit" }, t("pauseStart"));
    const form = h("form", { novalidate: true }, h("fieldset", {}, h("legend", {}, t("pauseLength")), radios), start);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const picked = DURATIONS.find((d) => d.id === (form.querySelector<HTMLInputElement>("input:checked")?.value ?? "hour"))!;
      void busy(start, async () => {
        await this.prefs.startPause(picked.ms);
        this.status.textContent = t("pauseStarted");
        this.pauseBox.querySelector("button")?.focus();
      });
    });
    replace(this.pauseBox, form);
  }

  private wordsSection(): HTMLElement {
    const input = h("input", { name: "word", autocomplete: "off", spellcheck: "false", maxlength: 50 });
    const f = field({ label: t("hiddenWordLabel"), hint: t("hiddenWordHint"), control: input });
    const add = h("button", { type: "submit" }, t("hiddenAdd"));
    const form = h("form", { novalidate: true }, f.wrap, add);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void busy(add, async () => {
        const word = cleanWord(input.value);
        const error = !word ? t("hiddenEmpty") : this.prefs.hiddenWords.length >= MAX_WORDS ? t("hiddenTooMany") : null;
        if (error || !(await this.prefs.addWord(word))) {
          f.error(error ?? t("hiddenTwice"));
          input.focus();
          return;
        }
        f.error(null);
        input.value = "";
        this.status.textContent = t("hiddenAdded", { word });
        this.renderWords();
      });
    });
    return h(
      "section",
      { "aria-labelledby": "hidden-title" },
      h("h2", { id: "hidden-title" }, t("hiddenTitle")),
      h("p", {}, t("hiddenIntro")),
      h("p", {}, t("hiddenLocal")),
      form,
      h("h3", {}, t("hiddenListTitle")),
      this.words,
    );
  }

  private renderWords(): void {
    const words = this.prefs.hiddenWords;
    if (words.length === 0) return replace(this.words, h("p", {}, t("hiddenNone")));
    const items = words.map((word) => {
      const remove = h("button", { type: "button", class: "secondary" }, t("hiddenRemove", { word }));
      remove.addEventListener("click", () =>
        busy(remove, async () => {
          await this.prefs.removeWord(word);
          this.status.textContent = t("hiddenRemoved", { word });
          this.renderWords();
          (this.words.querySelector("button") ?? this.el.querySelector<HTMLInputElement>("input[name=word]"))?.focus();
        }),
      );
      return h("li", {}, remove);
    });
    replace(this.words, h("ul", { class: "hidden-words" }, items));
  }

  update(): void {
    this.renderPause();
    if (!this.words.firstChild) this.renderWords();
  }
}
