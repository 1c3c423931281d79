// Texts of the séance bar and the séance rules, French first and English. Loaded with the bar only
// (a group with séance rules); follows the page's language (i18n.ts lang()). Short, plain sentences.
import { lang } from "./i18n";

const fr = {
  title: "Séance",
  closed: "Pas de séance en ce moment.",
  openSince: "Séance ouverte depuis {time}.",
  floorTo: "La parole est à {name}.",
  floorMine: "La parole est à vous.",
  floorFree: "Tout le monde peut écrire.",
  hands: "Mains levées : {names}.",
  noHands: "Personne n'a levé la main.",
  open: "Ouvrir la séance",
  close: "Fermer la séance",
  give: "Donner la parole à {name}",
  back: "Reprendre la parole",
  raise: "Lever la main",
  lower: "Baisser la main",
  charterTitle: "La charte du groupe",
  charterIntro: "Lisez la charte. Confirmez-la pour écrire pendant cette séance.",
  confirm: "J'ai lu la charte, je la respecte",
  gateOutside: "La séance n'est pas ouverte. Vous pourrez écrire quand elle commence.",
  gateFloor: "La parole est à {name}. Levez la main pour parler.",
  gateCharter: "Confirmez la charte ci-dessus pour écrire.",
  sayOpened: "La séance commence.",
  sayClosed: "La séance est finie.",
  sayFloor: "La parole est à {name}.",
  sayHand: "{name} lève la main.",
  rulesTitle: "Séances",
  rulesOn: "Le groupe se réunit en séances (l'animation les ouvre et les ferme)",
  rulesOnly: "On écrit seulement pendant une séance",
  rulesTurns: "Une personne à la fois : l'animation donne la parole",
  rulesErase: "Effacer les messages après chaque séance",
  rulesDelay: "Délai avant d'effacer (minutes)",
};

export type SKey = keyof typeof fr;

const en: Record<SKey, string> = {
  title: "Session",
  closed: "No session right now.",
  openSince: "Session open since {time}.",
  floorTo: "{name} has the floor.",
  floorMine: "You have the floor.",
  floorFree: "Everyone can write.",
  hands: "Raised hands: {names}.",
  noHands: "Nobody has raised a hand.",
  open: "Open the session",
  close: "Close the session",
  give: "Give the floor to {name}",
  back: "Take the floor back",
  raise: "Raise my hand",
  lower: "Lower my hand",
  charterTitle: "The group's charter",
  charterIntro: "Read the charter. Confirm it to write during this session.",
  confirm: "I have read the charter and I respect it",
  gateOutside: "The session is not open. You can write when it starts.",
  gateFloor: "{name} has the floor. Raise your hand to speak.",
  gateCharter: "Confirm the charter above to write.",
  sayOpened: "The session starts.",
  sayClosed: "The session is over.",
  sayFloor: "{name} has the floor.",
  sayHand: "{name} raises a hand.",
  rulesTitle: "Sessions",
  rulesOn: "The group meets in sessions (the facilitator opens and closes them)",
  rulesOnly: "Messages only during a session",
  rulesTurns: "One person at a time: the facilitator gives the floor",
  rulesErase: "Erase the messages after each session",
  rulesDelay: "Delay before erasing (minutes)",
};

export function st(key: SKey, vars: Record<string, string | number> = {}): string {
  const table = lang() === "en" ? en : fr;
  return table[key].replace(/\{(\w+)\}/g, (_, name: string) => String(vars[name] ?? ""));
}
