// A person's safety choices on this browser (issue 13, item 4): the words they choose to hide and
// "faire une pause". Kept in IndexedDB with the rest of the local data (kv "safety"), never sent to
// the relay and never put in a backup file. In the first load: the shell reads the pause (counts,
// announcements) and the announcement of a new message checks the hidden words.
import type { Store } from "../core/store";

/** What is stored. `pause.until` is a time in ms, or null for "until I turn it off". */
interface SafetyRecord {
  hiddenWords: string[];
  pause?: { until: number | null };
}

const KEY = "safety";
export const MAX_WORDS = 100;
export const MAX_WORD_LENGTH = 50;

/** Lower case, without accents: "Orage", "orage" and "ORAGÉ" are the same word to hide. */
function fold(text: string): string {
  return text.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
}

const wordChar = /[\p{L}\p{N}]/u;

/**
 * Whether `text` contains `word` at the start of a word: "mort" hides "morts" and "Mort !", not
 * "immortel" (a short word would otherwise hide far too much).
 */
function containsWord(text: string, word: string): boolean {
  for (let i = text.indexOf(word); i >= 0; i = text.indexOf(word, i + 1)) {
    if (i === 0 || !wordChar.test(text[i - 1])) return true;
  }
  return false;
}

/** A word as typed, tidied: spaces trimmed and single, at most MAX_WORD_LENGTH characters. */
export function cleanWord(word: string): string {
  return word.trim().replace(/\s+/g, " ").slice(0, MAX_WORD_LENGTH);
}

export class SafetyPrefs {
  private listeners: (() => void)[] = [];

  private constructor(
    private readonly store: Store | undefined,
    private record: SafetyRecord,
    private readonly now: () => number,
  ) {}

  /** Reads the choices kept in `store`; without a store (or if it fails) they live in memory only. */
  static async load(store?: Store, now: () => number = Date.now): Promise<SafetyPrefs> {
    const saved = await store?.get<SafetyRecord>("kv", KEY).catch(() => undefined);
    return new SafetyPrefs(store, { hiddenWords: saved?.hiddenWords ?? [], pause: saved?.pause }, now);
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  get hiddenWords(): readonly string[] {
    return this.record.hiddenWords;
  }

  /** Whether a message's text contains one of the hidden words. */
  hides(text: string): boolean {
    if (this.record.hiddenWords.length === 0) return false;
    const folded = fold(text);
    return this.record.hiddenWords.some((w) => containsWord(folded, fold(w)));
  }

  /** Adds a word; false when it is empty or already there (the same once folded). */
  async addWord(word: string): Promise<boolean> {
    const clean = cleanWord(word);
    const words = this.record.hiddenWords;
    if (!clean || words.length >= MAX_WORDS || words.some((w) => fold(w) === fold(clean))) return false;
    await this.save({ ...this.record, hiddenWords: [...words, clean] });
    return true;
  }

  async removeWord(word: string): Promise<void> {
    await this.save({ ...this.record, hiddenWords: this.record.hiddenWords.filter((w) => w !== word) });
  }

  /** Whether a pause is on now (one that has ended is off). */
  paused(): boolean {
    const p = this.record.pause;
    return !!p && (p.until === null || p.until > this.now());
  }

  /** When the pause ends (ms), or null when it lasts until turned off; undefined when off. */
  pauseEnd(): number | null | undefined {
    return this.paused() ? this.record.pause!.until : undefined;
  }

  /** Starts a pause for `ms` milliseconds, or until turned off (null). */
  async startPause(ms: number | null): Promise<void> {
    await this.save({ ...this.record, pause: { until: ms === null ? null : this.now() + ms } });
  }

  async endPause(): Promise<void> {
    await this.save({ hiddenWords: this.record.hiddenWords });
  }

  private async save(next: SafetyRecord): Promise<void> {
    this.record = next;
    // Kept in memory even if the browser refuses to store it: the choice still holds in this tab.
    await this.store?.write([{ table: "kv", key: KEY, value: next }]).catch(() => {});
    for (const l of this.listeners) l();
  }
}

let current: SafetyPrefs | undefined;

/** The page's choices, once main.ts has loaded them (none before: nothing is hidden or paused). */
export function safetyPrefs(): SafetyPrefs | undefined {
  return current;
}

export function setSafetyPrefs(prefs: SafetyPrefs): void {
  current = prefs;
}
