import "./style.css";
import { IdbStore } from "./core/store";
import { Messenger } from "./core/messenger";
import { setLang, t } from "./i18n";
import { App } from "./ui/app";
import { h, replace } from "./ui/dom";

function cannotStart(root: HTMLElement, reason: "needsHttps" | "needsStorage"): void {
  document.title = t("cannotStartTitle");
  replace(root, h("main", {}, h("h1", {}, t("cannotStartTitle")), h("p", {}, t(reason))));
}

async function boot(root: HTMLElement): Promise<void> {
  if (!globalThis.crypto?.subtle) return cannotStart(root, "needsHttps");  // WebCrypto needs https.
  let store: IdbStore;
  try {
    store = await IdbStore.open();
  } catch {
    return cannotStart(root, "needsStorage");
  }
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const messenger = await Messenger.load({ url: `${scheme}//${location.host}/ws`, store });
  new App(messenger, root).start();
}

function otherTab(root: HTMLElement): void {
  document.title = t("otherTabTitle");
  replace(root, h("main", {}, h("h1", {}, t("otherTabTitle")), h("p", {}, t("otherTabText"))));
}

/** The language chosen earlier on this browser; French otherwise, or if English cannot be fetched. */
async function savedLanguage(): Promise<void> {
  if (localStorage.getItem("cercle.lang") !== "en") return;
  await setLang("en").catch(() => setLang("fr"));
}

async function main(): Promise<void> {
  await savedLanguage();
  const root = document.getElementById("app")!;
  // One tab at a time holds this device's keys and connection: two would race on the MLS state.
  if (!navigator.locks) return boot(root);
  await navigator.locks.request("cercle-device", { ifAvailable: true }, async (lock) => {
    if (!lock) return otherTab(root);
    await boot(root);
    await new Promise(() => {});  // Held until the tab closes or reloads.
  });
}

void main();
