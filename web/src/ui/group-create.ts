// Creating a groupe de parole (#/groupes/nouveau): its name and description (only members read
// them), its charter and rules, and the peers to add at once. The person who creates it leads it.
// Loaded on demand, with its texts (i18n-facilitator.ts).
import type { Messenger } from "../core/messenger";
import { ft } from "../i18n-facilitator";
import { busy, type Screen, type Shell } from "./common";
import { field, h } from "./dom";
import { actionError, profileFields, rulesFields } from "./group-forms";

export class GroupCreateScreen implements Screen {
  el: HTMLElement;
  title = ft("createTitle");

  constructor(
    private readonly shell: Shell,
    private readonly m: Messenger,
  ) {
    const profile = profileFields();
    const rules = rulesFields({ charter: ft("charterDefault"), open: false, relatives: false, retentionDays: 0, objectionHours: 0, seances: null });
    const members = h("input", { name: "members", autocomplete: "off", autocapitalize: "none", spellcheck: "false" });
    const membersField = field({ label: ft("membersLabel"), hint: ft("membersHint"), control: members });
    const status = h("p", { class: "notice", role: "status" });
    const button = h("button", { type: "submit" }, ft("createButton"));
    const form = h("form", { novalidate: true, class: "group-create" }, profile.el, rules.el, membersField.wrap, button);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void busy(button, () => this.create(profile, rules, members, membersField, status));
    });
    this.el = h("section", { class: "group-admin" }, h("h1", {}, this.title), h("p", {}, ft("createIntro")), form, status);
  }

  private async create(
    profile: ReturnType<typeof profileFields>,
    rules: ReturnType<typeof rulesFields>,
    members: HTMLInputElement,
    membersField: ReturnType<typeof field>,
    status: HTMLElement,
  ): Promise<void> {
    membersField.error(null);
    const named = profile.read();
    if (!named) return;
    const handles = members.value.split(",").map((s) => s.trim()).filter(Boolean);
    status.textContent = ft("busy");
    const f = await this.m.facilitator();
    let current = "";
    try {
      // Each pseudonym checked first, so that a typo names the person and creates nothing.
      for (const handle of handles) {
        current = handle;
        await this.m.lookup(handle);
      }
      current = "";
      const id = await f.createGroup({ ...named, ...rules.read() }, handles);
      status.textContent = ft("createDone", { name: named.name });
      this.shell.navigate(`#/ga/${id}`);
    } catch (err) {
      status.textContent = current ? "" : actionError(err);
      if (!current) return;
      membersField.error(actionError(err, current));
      members.focus();
    }
  }
}
