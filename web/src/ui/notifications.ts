// "Notifications" (#/notifications, issue 15 items 2 and 3), reached from "Mon compte"; loaded when
// first opened (never in a visitor's first load). Per device: off until the person turns it on (the
// browser's permission is asked only after that click); a notification says only "Nouveau message"
// unless the person chooses, with the risk said, to show the sender's pseudonym or the group's name.
// The choices stay in IndexedDB (core/push.ts); public/sw.js reads them when a push arrives. During
// a pause (safety-prefs) the worker shows the neutral words, silently, whatever was chosen.
// Also refreshPush(): after each sign-in the page gives the relay its subscription again (the relay
// drops one the push service answered 404 or 410 for, and the browser may have renewed it).
import type { Messenger } from "../core/messenger";
import type { Push, PushChoices, SubscriptionKeys } from "../core/push";
import { ConnectionLost } from "../core/wire";
import { lang } from "../i18n";
import { pt } from "../i18n-push";
import { busy, type Screen } from "./common";
import { h, replace } from "./dom";

/** Whether this browser can receive Web Push at all (a service worker, the Push and Notification APIs). */
export function browserCanPush(): boolean {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window && isSecureContext;
}

/** The service worker's registration; a bounded wait (none when the worker could not start). */
function registration(): Promise<ServiceWorkerRegistration> {
  return Promise.race([
    navigator.serviceWorker.ready,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no service worker")), 10_000)),
  ]);
}

function keysOf(sub: PushSubscription): SubscriptionKeys {
  const key = (name: PushEncryptionKeyName) => new Uint8Array(sub.getKey(name) ?? new ArrayBuffer(0));
  return { endpoint: sub.endpoint, p256dh: key("p256dh"), auth: key("auth") };
}

function sameKey(sub: PushSubscription, key: Uint8Array): boolean {
  const held = sub.options.applicationServerKey;
  if (!held) return false;
  const bytes = new Uint8Array(held);
  return bytes.length === key.length && bytes.every((b, i) => b === key[i]);
}

/** The browser's subscription for this instance's key: the one it holds, or a new one. */
async function subscription(push: Push): Promise<PushSubscription> {
  const reg = await registration();
  let sub = await reg.pushManager.getSubscription();
  if (sub && !sameKey(sub, push.publicKey)) {
    await sub.unsubscribe();  // Made for another key (the instance's was changed): useless now.
    sub = null;
  }
  const applicationServerKey = new Uint8Array(push.publicKey);
  return sub ?? reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey });
}

/** After a sign-in: when notifications are on here, the relay gets this device's subscription again. */
export async function refreshPush(m: Messenger): Promise<void> {
  if (!browserCanPush() || Notification.permission !== "granted") return;
  const push = await m.push();
  const choices = await push.choices();
  if (!choices.on || push.publicKey.length === 0) return;
  if (choices.lang !== lang()) await push.saveChoices({ ...choices, lang: lang() });
  await push.register(keysOf(await subscription(push)));
}

export class NotificationsScreen implements Screen {
  el: HTMLElement;
  title = pt("title");
  private readonly status = h("p", { class: "notice", role: "status" });
  private readonly switchBox = h("div", {});
  private readonly whatBox = h("div", {});
  private push?: Push;
  private choices?: PushChoices;

  constructor(private readonly m: Messenger) {
    const what = h("section", { "aria-labelledby": "notif-what" }, h("h2", { id: "notif-what" }, pt("whatTitle")), h("p", {}, pt("whatDefault")), this.whatBox);
    this.el = h("section", { class: "notifications" }, h("h1", {}, this.title), h("p", {}, pt("intro")), h("p", {}, pt("device")), this.status, this.switchBox, what);
    void this.load();
  }

  private async load(): Promise<void> {
    this.push = await this.m.push();
    this.choices = await this.push.choices();
    // The notifications' words follow the page's language (the worker has no page to ask).
    if (this.choices.lang !== lang()) await this.save({ ...this.choices }, false);
    if (!browserCanPush()) return this.unavailable("noBrowser");
    if (!this.m.hello) return this.unavailable("offline");  // Not connected since the page opened: the instance's key is unknown.
    if (this.push.publicKey.length === 0 && !this.choices.on) return this.unavailable("noInstance");
    this.renderSwitch();
    this.renderWhat();
  }

  /** No switch that does nothing: only the words saying why. */
  private unavailable(why: "noBrowser" | "noInstance" | "offline"): void {
    replace(this.switchBox, h("p", { class: "notice" }, pt(why)));
    replace(this.whatBox);
  }

  private renderSwitch(): void {
    const on = this.choices!.on;
    const button = h("button", { type: "button", class: on ? "secondary" : "" }, pt(on ? "turnOff" : "turnOn"));
    button.addEventListener("click", () => void busy(button, () => (on ? this.turnOff() : this.turnOn())));
    const denied = !on && Notification.permission === "denied" ? h("p", { class: "warning-inline" }, pt("denied")) : null;
    const asks = !on && Notification.permission === "default" ? h("p", {}, pt("asks")) : null;
    replace(this.switchBox, h("p", {}, h("strong", {}, pt(on ? "stateOn" : "stateOff"))), denied, asks, button);
  }

  /** The two opt-ins, each with the risk said next to it (read with it: aria-describedby). */
  private renderWhat(): void {
    const box = (id: "showSender" | "showGroup") => {
      const input = h("input", { type: "checkbox", id: `notif-${id}`, "aria-describedby": "notif-risk" });
      input.checked = this.choices![id];
      input.addEventListener("change", () => void this.save({ ...this.choices!, [id]: input.checked }));
      return h("div", { class: "choice" }, input, h("label", { for: `notif-${id}` }, pt(id)));
    };
    const legend = h("legend", {}, pt("whatLegend"));
    const risk = h("p", { id: "notif-risk", class: "warning-inline" }, pt("risk"));
    replace(this.whatBox, h("fieldset", {}, legend, box("showSender"), box("showGroup"), risk), h("p", {}, pt("pause")));
  }

  private async save(next: PushChoices, said = true): Promise<void> {
    this.choices = { ...next, lang: lang() };
    await this.push!.saveChoices(this.choices);
    if (said) this.say(pt("saved"));
  }

  private say(text: string): void {
    this.status.textContent = text;
  }

  private async turnOn(): Promise<void> {
    if ((await Notification.requestPermission()) !== "granted") {
      this.renderSwitch();
      return this.say(pt("denied"));
    }
    let sub: PushSubscription | undefined;
    try {
      sub = await subscription(this.push!);
      await this.push!.register(keysOf(sub));
    } catch (e) {
      await sub?.unsubscribe().catch(() => false);
      return this.say(pt(e instanceof ConnectionLost ? "offline" : "failed"));
    }
    await this.save({ ...this.choices!, on: true });
    this.renderSwitch();
    this.say(pt("turnedOn"));
    this.switchBox.querySelector("button")?.focus();
  }

  /** Off on this device at once; the relay is told when it can be (it also drops a dead subscription). */
  private async turnOff(): Promise<void> {
    const reg = await registration().catch(() => undefined);
    await (await reg?.pushManager.getSubscription())?.unsubscribe().catch(() => false);
    await this.push!.unregister().catch(() => {});
    await this.save({ ...this.choices!, on: false });
    this.renderSwitch();
    this.say(pt("turnedOff"));
    this.switchBox.querySelector("button")?.focus();
  }
}
