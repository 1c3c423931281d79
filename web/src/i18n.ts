// Texts of the page, French first (the default, in the first load). English is fetched the first
// time a person switches to it; its table must have every French key (Key is typed from fr).
import { fr } from "./i18n-fr";

export type Key = keyof typeof fr;
export type Lang = "fr" | "en";

const tables: Partial<Record<Lang, Record<Key, string>>> = { fr };
let current: Lang = "fr";

/** Switches the page's language, fetching the English texts on first use. */
export async function setLang(lang: Lang): Promise<void> {
  if (!tables[lang]) tables[lang] = (await import("./i18n-en")).en;
  current = lang;
  document.documentElement.lang = lang;
}

export function lang(): Lang {
  return current;
}

export function t(key: Key, vars: Record<string, string | number> = {}): string {
  const table = tables[current] ?? fr;
  return table[key].replace(/\{(\w+)\}/g, (_, name: string) => String(vars[name] ?? ""));
}
