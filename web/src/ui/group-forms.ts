// The parts the facilitator's screens share (group-create.ts, group-admin.ts): the name and
// description fields, the rules fields, and refusals in words. Loaded with those screens only.
import type { RulesChoice } from "../core/facilitate";
import { st } from "../i18n-seance";
import { refusalKey } from "../core/policy";
import { ErrorCode } from "../core/proto";
import { RelayError } from "../core/wire";
import { t, type Key } from "../i18n";
import { ft } from "../i18n-facilitator";
import { groupKey, type Messenger } from "../core/messenger";
import { errorText } from "./common";
import { field, h, uid } from "./dom";

const MAX_NAME = 80;
const MAX_DESCRIPTION = 1000;
const bytes = (s: string) => new TextEncoder().encode(s).length;

/** The group's name and description, checked before anything is sent. */
export function profileFields(name = "", description = "") {
  const nameInput = h("input", { name: "group-name", autocomplete: "off", required: true, value: name });
  const descInput = h("textarea", { name: "group-description", rows: 3 });
  descInput.value = description;
  const nameField = field({ label: ft("nameLabel"), hint: ft("nameHint"), control: nameInput });
  const descField = field({ label: ft("descriptionLabel"), hint: ft("descriptionHint"), control: descInput });
  return {
    el: [nameField.wrap, descField.wrap],
    /** The values, or undefined (with the error next to its field, focused) when one is refused. */
    read(): { name: string; description: string } | undefined {
      const value = { name: nameInput.value.trim(), description: descInput.value.trim() };
      const nameError = !value.name ? ft("nameEmpty") : bytes(value.name) > MAX_NAME ? ft("nameTooLong") : null;
      const descError = bytes(value.description) > MAX_DESCRIPTION ? ft("descriptionTooLong") : null;
      nameField.error(nameError);
      descField.error(descError);
      if (nameError) nameInput.focus();
      else if (descError) descInput.focus();
      return nameError || descError ? undefined : value;
    },
  };
}

function select(name: string, options: [string, string][], current: string): HTMLSelectElement {
  const el = h("select", { name }, options.map(([value, text]) => h("option", { value }, text)));
  el.value = current;
  return el;
}

/** The rules a facilitator chooses: charter, who may come in, relatives, how long messages are kept, the delay for objections. */
export function rulesFields(current: Required<RulesChoice>) {
  const charter = h("textarea", { name: "charter", rows: 3 });
  charter.value = current.charter;
  const who = uid("who");
  const radio = (open: boolean, text: string) => {
    const input = h("input", { type: "radio", name: who, value: open ? "open" : "invite", checked: current.open === open });
    return h("label", { class: "choice" }, input, " ", text);
  };
  const relatives = h("input", { type: "checkbox", name: "relatives", checked: current.relatives });
  const keep = select("keep", [["0", ft("keepAlways")], ["1", ft("keepDay")], ["7", ft("keepWeek")], ["30", ft("keepMonth")]], String(current.retentionDays));
  const delay = select("delay", [["0", ft("delayNone")], ["24", ft("delayDay")], ["48", ft("delayTwoDays")]], String(current.objectionHours));
  const fieldset = h("fieldset", {}, h("legend", {}, ft("whoTitle")), radio(false, ft("whoInvite")), radio(true, ft("whoOpen")));
  const el = [
    field({ label: ft("charterLabel"), hint: ft("charterHint"), control: charter }).wrap,
    fieldset,
    h("p", {}, h("label", { class: "choice" }, relatives, " ", ft("relativesLabel"))),
    field({ label: ft("keepLabel"), hint: ft("keepHint"), control: keep }).wrap,
    field({ label: ft("delayLabel"), hint: ft("delayHint"), control: delay }).wrap,
  ];
  const seances = seanceFields(current.seances);
  el.push(seances.el);
  return {
    el,
    read(): Required<RulesChoice> {
      const open = fieldset.querySelector<HTMLInputElement>("input:checked")?.value === "open";
      return { charter: charter.value.trim(), open, relatives: relatives.checked, retentionDays: Number(keep.value), objectionHours: Number(delay.value), seances: seances.read() };
    },
  };
}

/** Séance rules: whether the group meets in séances, and what a séance asks of its members. */
function seanceFields(current: Required<RulesChoice>["seances"]) {
  const box = (name: string, checked: boolean, text: string) => {
    const input = h("input", { type: "checkbox", name, checked });
    return { input, el: h("p", {}, h("label", { class: "choice" }, input, " ", text)) };
  };
  const on = box("seances", !!current, st("rulesOn"));
  const only = box("seanceOnly", !!current?.writeOnlyInSeance, st("rulesOnly"));
  const turns = box("seanceTurns", !!current?.turnTaking, st("rulesTurns"));
  const erase = box("seanceErase", !!current?.eraseAfter, st("rulesErase"));
  const minutes = h("input", { type: "number", name: "seanceDelay", min: 0, max: 10080, inputmode: "numeric", value: String(current?.eraseDelayMinutes ?? 0) });
  const el = h("fieldset", {}, h("legend", {}, st("rulesTitle")), on.el, only.el, turns.el, erase.el, field({ label: st("rulesDelay"), control: minutes }).wrap);
  return {
    el,
    read: () =>
      on.input.checked
        ? { writeOnlyInSeance: only.input.checked, turnTaking: turns.input.checked, eraseAfter: erase.input.checked, eraseDelayMinutes: Math.max(0, Math.floor(Number(minutes.value) || 0)) }
        : null,
  };
}

/** Why an action failed, in words: the group's rules (this client's own check), a pseudonym nobody has, or the usual reasons. */
export function actionError(e: unknown, name = ""): string {
  const refused = e as { name?: string; refusal?: number; who?: string };
  if (refused?.name === "PolicyRefused" && refused.refusal !== undefined) {
    return ft("refused", { reason: t(`refusal_${refusalKey(refused.refusal)}` as Key, { name: refused.who ?? name }) });
  }
  if ((e as Error)?.name === "ProfileRefused") return ft("nameTooLong");
  if (e instanceof RelayError && e.code === ErrorCode.NOT_FOUND && name) return ft("createNotFound", { name });
  return errorText(e);
}

/** The words a facilitator's screen of a group starts with (its title, the way back, why it cannot be shown). */
export interface FrameWords {
  title: (name: string) => string;
  plainTitle: string;
  back: string;
  missing: string;
  notFacilitator: string;
}

/**
 * The frame shared by the facilitators' screens of a group (management, report inbox): a title, the
 * link back to the group, and a notice instead of the tools when the group is not here or this
 * account does not facilitate it. Returns whether the tools may be shown.
 */
export function facilitatorFrame(m: Messenger, id: string, cls: string, w: FrameWords): { peer: string; title: string; el: HTMLElement; ready: boolean } {
  const peer = groupKey(id);
  const view = m.groupView(peer);
  const title = view?.name ? w.title(view.name) : w.plainTitle;
  const el = h("section", { class: cls }, h("h1", {}, title), h("p", {}, h("a", { href: `#/g/${id}` }, w.back)));
  const facilitates = !!view?.roster.some((r) => r.self && r.role === "facilitator");
  if (!facilitates) el.append(h("p", { class: "notice" }, view ? w.notFacilitator : w.missing));
  return { peer, title, el, ready: facilitates };
}
