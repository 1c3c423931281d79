// The group admin screen (#/ga/<id>), for the group's facilitators: its name and description, its
// rules, planning séances (seance-plan.ts), adding a peer, inviting a peer or a professional (one
// submit helper for both), then the lists (members, invitations, requests to come in, banned
// people; group-members.ts). Loaded on demand, with its texts.
import type { Facilitator } from "../core/facilitate";
import { type Messenger } from "../core/messenger";
import { JoinRule, type GroupPolicy } from "../core/proto";
import { ft } from "../i18n-facilitator";
import { busy, type Screen } from "./common";
import { field, h, replace } from "./dom";
import { actionError, facilitatorFrame, profileFields, rulesFields } from "./group-forms";
import { SeancePlan } from "./seance-plan";
import { bannedSection, invitationsSection, membersSection, requestsSection, type AdminContext } from "./group-members";

export class GroupAdminScreen implements Screen {
  el: HTMLElement;
  title: string;
  private readonly peer: string;
  private readonly lists = h("div", { class: "admin-lists" });
  private readonly status = h("p", { class: "notice", role: "status", tabindex: "-1" });
  private f?: Facilitator;
  private plan?: SeancePlan;
  private shown = "";

  constructor(
    private readonly m: Messenger,
    private readonly id: string,
  ) {
    const frame = facilitatorFrame(m, id, "group-admin", {
      title: (name) => ft("adminTitle", { name }),
      plainTitle: ft("adminTitlePlain"),
      back: ft("adminBack"),
      missing: ft("adminMissing"),
      notFacilitator: ft("adminNotFacilitator"),
    });
    this.peer = frame.peer;
    this.title = frame.title;
    this.el = frame.el;
    if (frame.ready) void this.init();
  }

  private say(text: string): void {
    this.status.textContent = text;
    this.status.focus();
  }

  private async init(): Promise<void> {
    this.f = await this.m.facilitator();
    const policy = (await this.f.policy(this.id))!;
    const view = this.m.groupView(this.peer)!;
    this.plan = new SeancePlan(await this.m.seances(), this.id, (text) => this.say(text));
    this.el.append(this.status, this.profileForm(view.name ?? "", view.description ?? ""), this.rulesForm(policy), this.plan.el, this.addForm(), this.inviteForm(), this.lists);
    await this.render();
  }

  private profileForm(name: string, description: string): HTMLElement {
    const fields = profileFields(name, description);
    const button = h("button", { type: "submit" }, ft("profileSave"));
    const form = h("form", { novalidate: true, "aria-labelledby": "admin-profile" }, h("h2", { id: "admin-profile" }, ft("profileTitle")), fields.el, button);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const value = fields.read();
      if (value) void busy(button, () => this.act(() => this.f!.setProfile(this.id, value.name, value.description), ft("profileSaved")));
    });
    return form;
  }

  private rulesForm(p: GroupPolicy): HTMLElement {
    const fields = rulesFields({ charter: p.charter, open: p.joinRule === JoinRule.OPEN_TO_PEERS, relatives: p.relativesAdmitted, retentionDays: p.retentionDays, objectionHours: p.objectionHours, seances: p.seances ?? null });
    const button = h("button", { type: "submit" }, ft("rulesSave"));
    const form = h("form", { novalidate: true, "aria-labelledby": "admin-rules" }, h("h2", { id: "admin-rules" }, ft("rulesTitle")), fields.el, button);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void busy(button, () => this.act(() => this.f!.setRules(this.id, fields.read()), ft("rulesSaved")));
    });
    return form;
  }

  private addForm(): HTMLElement {
    const input = h("input", { name: "add-handle", autocomplete: "off", autocapitalize: "none", spellcheck: "false" });
    const f = field({ label: ft("addLabel"), hint: ft("addHint"), control: input });
    const button = h("button", { type: "submit" }, ft("addButton"));
    const form = h("form", { novalidate: true, "aria-labelledby": "admin-add" }, h("h2", { id: "admin-add" }, ft("addTitle")), f.wrap, button);
    this.onHandle(form, input, f, button, (name) => this.f!.add(this.id, name), "addDone");
    return form;
  }

  private inviteForm(): HTMLElement {
    const input = h("input", { name: "invite-handle", autocomplete: "off", autocapitalize: "none", spellcheck: "false" });
    const f = field({ label: ft("inviteLabel"), control: input });
    const pro = h("input", { type: "checkbox", name: "professional", "aria-describedby": "invite-pro-hint" });
    const members = (this.m.groupView(this.peer)?.roster ?? []).filter((r) => !r.professional && r.role !== "invitedProfessional").map((r) => r.handle);
    const accompanying = h("select", { name: "accompanying" }, h("option", { value: "" }, ft("inviteForNobody")), members.map((n) => h("option", { value: n }, n)));
    const forField = field({ label: ft("inviteForLabel"), control: accompanying });
    const button = h("button", { type: "submit" }, ft("inviteButton"));
    const proLine = [h("p", {}, h("label", { class: "choice" }, pro, " ", ft("inviteProLabel"))), h("p", { class: "hint", id: "invite-pro-hint" }, ft("inviteProHint"))];
    const form = h("form", { novalidate: true, "aria-labelledby": "admin-invite" }, h("h2", { id: "admin-invite" }, ft("inviteTitle")), h("p", {}, ft("inviteIntro")), f.wrap, proLine, forField.wrap, button);
    this.onHandle(form, input, f, button, (name) => this.f!.invite(this.id, name, { professional: pro.checked, accompanying: pro.checked ? accompanying.value : "" }), "inviteDone");
    return form;
  }

  /**
   * A form that names one person (add, invite): an empty name puts the focus back; the action's
   * refusal is said at the field, its success in the screen's status, and the field is emptied.
   */
  private onHandle(form: HTMLFormElement, input: HTMLInputElement, f: ReturnType<typeof field>, button: HTMLButtonElement, work: (name: string) => Promise<unknown>, done: "addDone" | "inviteDone"): void {
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const name = input.value.trim();
      if (!name) return input.focus();
      void busy(button, async () => {
        f.error(null);
        try {
          await work(name);
          input.value = "";
          this.say(ft(done, { name }));
        } catch (err) {
          f.error(actionError(err, name));
          input.focus();
        }
      });
    });
  }

  private async act(work: () => Promise<unknown>, done: string): Promise<void> {
    try {
      await work();
      this.say(done);
    } catch (err) {
      this.say(actionError(err));
    }
  }

  update(): void {
    this.plan?.update();
    if (this.f) void this.render();
  }

  /** The lists, redrawn only when they change (a screen reader keeps its place). */
  private async render(): Promise<void> {
    const view = this.m.groupView(this.peer);
    const policy = await this.f!.policy(this.id).catch(() => undefined);
    if (!view || !policy) return;
    const shown = JSON.stringify({ roster: view.roster, invitations: view.invitations, requests: view.joinRequests, muted: policy.muted, banned: policy.banned, roles: policy.roles }, (_k, v) =>
      v instanceof Uint8Array ? v.length : v,
    );
    if (shown === this.shown) return;
    this.shown = shown;
    const a: AdminContext = { f: this.f!, id: this.id, say: (text) => this.say(text) };
    replace(this.lists, requestsSection(a, view), membersSection(a, view, policy), invitationsSection(a, view), bannedSection(a, policy));
  }
}
