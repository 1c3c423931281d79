import "./style.css";
import { IdbStore } from "./core/store";
import { Messenger } from "./core/messenger";
import { setLang, type Lang } from "./i18n";
import { App } from "./ui/app";

async function boot(): Promise<void> {
  const saved = localStorage.getItem("cercle.lang");
  const lang: Lang = saved === "en" || saved === "fr" ? saved : "fr";
  setLang(lang);
  const store = await IdbStore.open();
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const messenger = await Messenger.load({ url: `${scheme}//${location.host}/ws`, store });
  const app = new App(messenger, document.getElementById("app")!);
  app.start();
}

void boot();
