// The pseudonym rules, checked on the page before anything is sent, so a refusal can say what is
// wrong in plain words and offer a pseudonym that would work. The same rules as the relay's
// (server/domain/handle.cpp): after NFC, 3 to 32 characters; letters of any script, digits and
// combining marks; "_", "-" and "." only between two letters or digits. The relay stays the judge
// (INVALID_HANDLE is still shown); this only explains. Shared by home.ts and visitor.ts (first load).
import { t } from "../i18n";

export const MIN_HANDLE = 3;
export const MAX_HANDLE = 32;

const allowed = /^[\p{L}\p{Nd}\p{M}]$/u;
const separator = /^[_.-]$/;
const emoji = /\p{Extended_Pictographic}/u;

export type HandleProblem =
  | { kind: "empty" }
  | { kind: "space" }
  | { kind: "emoji" }
  | { kind: "sign"; sign: string }
  | { kind: "short"; n: number }
  | { kind: "long"; n: number }
  | { kind: "edge" }
  | { kind: "double" };

/** What is wrong with a pseudonym as typed (undefined: the relay's rules allow it). */
export function handleProblem(typed: string): HandleProblem | undefined {
  const chars = [...typed.trim().normalize("NFC")];
  if (chars.length === 0) return { kind: "empty" };
  if (chars.some((c) => /\s/u.test(c))) return { kind: "space" };
  const bad = chars.find((c) => !allowed.test(c) && !separator.test(c));
  if (bad && (emoji.test(bad) || bad === "\u200d" || bad === "\ufe0f")) return { kind: "emoji" };
  if (bad) return { kind: "sign", sign: bad };
  if (chars.length < MIN_HANDLE) return { kind: "short", n: chars.length };
  if (chars.length > MAX_HANDLE) return { kind: "long", n: chars.length };
  if (separator.test(chars[0]) || separator.test(chars[chars.length - 1])) return { kind: "edge" };
  if (chars.some((c, i) => i > 0 && separator.test(c) && separator.test(chars[i - 1]))) return { kind: "double" };
  return undefined;
}

/**
 * A pseudonym close to what was typed that the rules allow: spaces become "-", other signs and
 * emoji go, separators are single and inside, too long is cut, too short gets digits.
 */
export function suggestHandle(typed: string): string {
  let chars = [...typed.trim().normalize("NFC").replace(/\s+/gu, "-")].filter((c) => allowed.test(c) || separator.test(c));
  chars = chars.filter((c, i) => !(separator.test(c) && i > 0 && separator.test(chars[i - 1])));
  const trim = (list: string[]) => {
    let a = 0;
    let b = list.length;
    while (a < b && separator.test(list[a])) a++;
    while (b > a && separator.test(list[b - 1])) b--;
    return list.slice(a, b);
  };
  chars = trim(trim(chars).slice(0, MAX_HANDLE));
  if (chars.length === 0) return "pseudo123";
  const digits = "123".slice(0, Math.max(0, MIN_HANDLE - chars.length));
  return chars.join("") + digits;
}

/** The sentence saying what is wrong, then a pseudonym that would work. */
export function handleProblemText(typed: string, problem: HandleProblem): string {
  const what = {
    empty: () => t("handleEmpty"),
    space: () => t("handleSpace"),
    emoji: () => t("handleEmoji"),
    sign: () => t("handleSign", { sign: (problem as { sign: string }).sign }),
    short: () => t("handleShort", { min: MIN_HANDLE }),
    long: () => t("handleLong", { n: (problem as { n: number }).n, max: MAX_HANDLE }),
    edge: () => t("handleEdge"),
    double: () => t("handleDouble"),
  }[problem.kind]();
  return problem.kind === "empty" ? what : `${what} ${t("handleSuggest", { handle: suggestHandle(typed) })}`;
}

/** The error for the pseudonym field, or null when the rules allow it. */
export function checkHandle(typed: string): string | null {
  const problem = handleProblem(typed);
  return problem ? handleProblemText(typed, problem) : null;
}
