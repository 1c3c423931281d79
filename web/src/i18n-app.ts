// Texts of the installed web app (ui/update.ts) and of the offline start, French first and English.
// Few and short, so both languages are in the first load; follows the page's language (i18n.ts lang()).
import { lang } from "./i18n";

const fr = {
  updateReady: "Une nouvelle version est prête.",
  updateNow: "Mettre à jour",
  updateLater: "Plus tard",
  updating: "Mise à jour…",
  willSend: "Vos messages partiront quand la connexion revient.",
};

export type AKey = keyof typeof fr;

const en: Record<AKey, string> = {
  updateReady: "A new version is ready.",
  updateNow: "Update",
  updateLater: "Later",
  updating: "Updating…",
  willSend: "Your messages will be sent when the connection is back.",
};

export function at(key: AKey): string {
  return (lang() === "en" ? en : fr)[key];
}
