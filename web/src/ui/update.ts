// A new version of Cercle asks before it takes over. Each build stamps its version into the
// service worker (public/sw.js, scripts/postbuild.mjs), so the browser finds a new worker when the
// server has a new build; that worker waits. The page says "Une nouvelle version est prête." with
// "Mettre à jour": only that click tells the worker to take over, and the page reloads once when it
// has. Nothing reloads by itself: a person writing a message must not lose it. "Plus tard" puts the
// prompt away; the new version then starts the next time the app is opened.
import { at } from "../i18n-app";
import { h, replace } from "./dom";

/** Said in a polite live region; present (empty) from the start, so that filling it is announced. */
const said = h("p", { role: "status" });
const box = h("div", { class: "update" }, said);
let waiting: ServiceWorker | null = null;
let dismissed = false;
let applying = false;

/** The prompt's place (the shell puts it under the safety bar); drawn again in the page's language. */
export function updateBox(): HTMLElement {
  render();
  return box;
}

function render(): void {
  const shown = !!waiting && !dismissed;
  box.classList.toggle("ready", shown);
  const text = !shown ? "" : applying ? at("updating") : at("updateReady");
  if (said.textContent !== text) said.textContent = text;
  if (!shown || applying) return replace(box, said);
  const now = h("button", { type: "button" }, at("updateNow"));
  now.addEventListener("click", apply);
  const later = h("button", { type: "button", class: "secondary" }, at("updateLater"));
  later.addEventListener("click", () => {
    dismissed = true;
    render();
    document.getElementById("main")?.focus();  // The button held the focus: it goes on to the page.
  });
  replace(box, said, h("div", { class: "update-actions" }, now, later));
}

/** The person's click: the waiting worker takes over, then the page reloads, once. */
function apply(): void {
  if (!waiting || applying) return;
  applying = true;
  navigator.serviceWorker.addEventListener("controllerchange", () => location.reload(), { once: true });
  waiting.postMessage({ skipWaiting: true });
  render();
}

function found(worker: ServiceWorker): void {
  waiting = worker;
  worker.addEventListener("statechange", () => {
    // Taken over from another tab, or thrown away by the browser: nothing to offer any more.
    if (worker.state !== "installed" && waiting === worker && !applying) {
      waiting = null;
      render();
    }
  });
  render();
}

/** A worker that reaches "installed" while another is active is a new version, waiting. */
function track(reg: ServiceWorkerRegistration, worker: ServiceWorker | null): void {
  if (!worker) return;
  worker.addEventListener("statechange", () => {
    if (worker.state === "installed" && reg.active) found(worker);
  });
}

const HOUR = 3_600_000;

/** Follows `reg` for new versions: one waiting now, or one found later. */
export function watchForUpdates(reg: ServiceWorkerRegistration): void {
  if (reg.waiting && reg.active) found(reg.waiting);
  track(reg, reg.installing);
  reg.addEventListener("updatefound", () => track(reg, reg.installing));
  // An app left open for days still learns of a new build: checked again when it comes back to the
  // front, at most once an hour (never while hidden: no timer).
  let checked = Date.now();
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState !== "visible" || Date.now() - checked < HOUR) return;
    checked = Date.now();
    reg.update().catch(() => {});
  });
}
