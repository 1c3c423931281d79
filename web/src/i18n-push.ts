// Texts of the notifications screen (ui/notifications.ts), French first and English. Loaded with the
// account screen and the notifications screen only; follows the page's language (i18n.ts lang()).
// Short, plain sentences. The notifications' own words are in public/sw.js (no page to ask there).
import { lang } from "./i18n";

const fr = {
  title: "Notifications",
  accountLink: "Notifications sur cet appareil",
  intro: "Une notification vous prévient quand un message arrive et que Cercle est fermé.",
  device: "Ce choix vaut pour cet appareil seulement. Il reste sur cet appareil.",
  noInstance: "Ce service Cercle n'envoie pas de notifications. Ouvrez Cercle pour voir vos messages.",
  noBrowser: "Ce navigateur ne peut pas recevoir les notifications de Cercle. Ouvrez Cercle pour voir vos messages.",
  denied: "Ce navigateur bloque les notifications de Cercle. Pour les recevoir, autorisez-les dans les réglages du navigateur.",
  stateOn: "Les notifications sont activées sur cet appareil.",
  stateOff: "Les notifications sont désactivées sur cet appareil.",
  turnOn: "Activer les notifications",
  turnOff: "Désactiver les notifications",
  asks: "Le navigateur va vous demander votre accord.",
  turnedOn: "Les notifications sont activées.",
  turnedOff: "Les notifications sont désactivées.",
  failed: "Les notifications n'ont pas pu être activées sur ce navigateur. Réessayez plus tard.",
  offline: "Pas de connexion au service Cercle. Réessayez quand vous êtes connecté.",
  whatTitle: "Ce que dit une notification",
  whatDefault: "Une notification dit seulement « Nouveau message ». Elle ne dit pas qui écrit, ni dans quel groupe. Elle ne montre jamais le texte du message.",
  whatLegend: "Montrer un nom dans la notification",
  showSender: "Montrer le pseudonyme de la personne qui écrit (conversation à deux)",
  showGroup: "Montrer le nom du groupe",
  risk: "Attention : quelqu'un qui voit votre écran pourra lire ce nom.",
  pause: "Pendant une pause, la notification dit seulement « Nouveau message », sans son.",
  saved: "Votre choix est enregistré.",
};

export type PKey = keyof typeof fr;

const en: Record<PKey, string> = {
  title: "Notifications",
  accountLink: "Notifications on this device",
  intro: "A notification tells you when a message arrives while Cercle is closed.",
  device: "This choice is for this device only. It stays on this device.",
  noInstance: "This Cercle service does not send notifications. Open Cercle to see your messages.",
  noBrowser: "This browser cannot receive Cercle's notifications. Open Cercle to see your messages.",
  denied: "This browser blocks Cercle's notifications. To get them, allow them in the browser's settings.",
  stateOn: "Notifications are on for this device.",
  stateOff: "Notifications are off for this device.",
  turnOn: "Turn notifications on",
  turnOff: "Turn notifications off",
  asks: "The browser will ask for your permission.",
  turnedOn: "Notifications are on.",
  turnedOff: "Notifications are off.",
  failed: "Notifications could not be turned on in this browser. Try again later.",
  offline: "No connection to the Cercle service. Try again when you are connected.",
  whatTitle: "What a notification says",
  whatDefault: "A notification only says \"New message\". It does not say who is writing, nor in which group. It never shows the message's text.",
  whatLegend: "Show a name in the notification",
  showSender: "Show the pseudonym of the person writing (one-to-one conversation)",
  showGroup: "Show the group's name",
  risk: "Careful: someone who sees your screen will be able to read this name.",
  pause: "During a pause, the notification only says \"New message\", with no sound.",
  saved: "Your choice is saved.",
};

export function pt(key: PKey): string {
  return (lang() === "en" ? en : fr)[key];
}
