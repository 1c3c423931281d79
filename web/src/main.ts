import "./style.css";
import { IdbStore } from "./core/store";
import { Messenger } from "./core/messenger";
import { setLang, t } from "./i18n";
import { App } from "./ui/app";
import { h, replace } from "./ui/dom";
import { continueExit, listenForEscape, safetyBar, trackHistory } from "./ui/safety";
import { SafetyPrefs, setSafetyPrefs } from "./ui/safety-prefs";
import { watchForUpdates } from "./ui/update";

/** A page without the shell still has the safety bar (quick exit, crisis card). */
function alone(root: HTMLElement, title: string, text: string): void {
  document.title = title;
  replace(root, safetyBar(), h("main", {}, h("h1", {}, title), h("p", {}, text)));
}

function cannotStart(root: HTMLElement, reason: "needsHttps" | "needsStorage"): void {
  alone(root, t("cannotStartTitle"), t(reason));
}

async function boot(root: HTMLElement): Promise<void> {
  if (!globalThis.crypto?.subtle) return cannotStart(root, "needsHttps");  // WebCrypto needs https.
  let store: IdbStore;
  try {
    store = await IdbStore.open();
  } catch {
    return cannotStart(root, "needsStorage");
  }
  setSafetyPrefs(await SafetyPrefs.load(store));
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const messenger = await Messenger.load({ url: `${scheme}//${location.host}/ws`, store });
  new App(messenger, root).start();
}

/**
 * The service worker (public/sw.js) keeps the page's own files, so that the page opens again, and
 * reads what IndexedDB keeps, while the relay (which serves them) does not answer. The files
 * loaded before it is in charge are named to it, and each one loaded later.
 */
function keepFilesForOffline(): void {
  if (!("serviceWorker" in navigator) || !isSecureContext) return;
  const assets = (entries: PerformanceEntryList) => entries.map((e) => e.name).filter((n) => new URL(n).pathname.startsWith("/assets/"));
  navigator.serviceWorker
    .register("/sw.js")
    .then((reg) => {
      watchForUpdates(reg);  // A new build's worker waits until the person chooses to update (ui/update.ts).
      return navigator.serviceWorker.ready;
    })
    .then((reg) => {
      const send = (entries: PerformanceEntryList) => {
        const cache = assets(entries);
        if (cache.length) reg.active?.postMessage({ cache });
      };
      new PerformanceObserver((list) => send(list.getEntries())).observe({ type: "resource", buffered: true });
    })
    .catch(() => {});  // Without it the page works as before; it only does not open offline.
}

function otherTab(root: HTMLElement): void {
  alone(root, t("otherTabTitle"), t("otherTabText"));
}

/** The language chosen earlier on this browser; French otherwise, or if English cannot be fetched. */
async function savedLanguage(): Promise<void> {
  if (localStorage.getItem("cercle.lang") !== "en") return;
  await setLang("en").catch(() => setLang("fr"));
}

async function main(): Promise<void> {
  // A quick exit that went back to an older Cercle page ends here, before anything is drawn.
  if (continueExit()) return;
  trackHistory();
  listenForEscape();
  keepFilesForOffline();
  await savedLanguage();
  const root = document.getElementById("app")!;
  // The safety bar within reach while the rest loads; no "Chargement…" above a contact form already there (public/early.js).
  const early = document.getElementById("early");
  replace(root, safetyBar(), early && !early.hidden ? null : h("p", { class: "boot" }, t("loading")));
  // One tab at a time holds this device's keys and connection: two would race on the MLS state.
  if (!navigator.locks) return boot(root);
  await navigator.locks.request("cercle-device", { ifAvailable: true }, async (lock) => {
    if (!lock) return otherTab(root);
    await boot(root);
    await new Promise(() => {});  // Held until the tab closes or reloads.
  });
}

void main();
