// Texts of reports: the facilitators' report inbox, the count of reports to read, the live
// announcement, and the report to the association's admins; French first and English. Loaded with
// those screens only (never in a visitor's first load); follows the page's language (i18n.ts
// lang()). Short sentences, one idea each, everyday words.
import { lang } from "./i18n";

const fr = {
  inboxTitle: "Signalements – {name}",
  inboxTitlePlain: "Signalements du groupe",
  inboxBack: "Retour au groupe",
  inboxIntro: "Des membres vous signalent des messages. Seule l'animation du groupe lit ces signalements.",
  inboxHow: "Pour chaque signalement, choisissez une action. Un clic suffit.",
  inboxEmpty: "Aucun signalement à lire.",
  inboxMissing: "Ce groupe n'est pas sur cet appareil.",
  inboxNotFacilitator: "Seule l'animation du groupe lit les signalements.",
  itemTitle: "Signalement de {name}",
  itemWhen: "Reçu : {time}.",
  itemReason: "Sa raison : {reason}",
  itemNoReason: "Pas de raison donnée.",
  contextTitle: "Le message et ceux autour",
  reportedTag: "Message signalé",
  seenText: "Ce que {name} a vu : « {text} »",
  gone: "Ce message n'est plus là. Il a été supprimé ou effacé.",
  deleteLabel: "Supprimer pour tout le monde le message de {name}",
  closeButton: "Fermer le signalement",
  closeLabel: "Fermer le signalement de {name}",
  closed: "Le signalement est fermé.",
  countNone: "Signalements : aucun à lire",
  countOne: "1 signalement à lire",
  countMany: "{n} signalements à lire",
  announce: "Nouveau signalement dans {group}.",
  answered: "L'association a répondu à votre signalement.",
  adminChoice: "Signaler à l'association",
  adminAskTitle: "Montrer ce message à l'association ?",
  adminAsk1: "Les admins de {who} vont lire le texte de ce message.",
  adminAssociation: "l'association qui héberge Cercle",
  adminAsk2: "Seulement ce message. Ils ne lisent pas les autres messages du groupe.",
  adminAsk3: "Ils sauront que c'est vous qui signalez.",
  adminAsk4: "Faites-le pour un message grave : une menace, du harcèlement, un danger.",
  adminYes: "Oui, montrer ce message à l'association",
  adminNo: "Non, revenir",
  adminDone: "Vous avez signalé ce message à l'association. Sa réponse s'affichera ici.",
  adminAnswer: "Réponse de l'association : {text}",
};

export type RKey = keyof typeof fr;

const en: Record<RKey, string> = {
  inboxTitle: "Reports – {name}",
  inboxTitlePlain: "The group's reports",
  inboxBack: "Back to the group",
  inboxIntro: "Members report messages to you. Only the group's facilitators read these reports.",
  inboxHow: "For each report, choose an action. One click is enough.",
  inboxEmpty: "No report to read.",
  inboxMissing: "This group is not on this device.",
  inboxNotFacilitator: "Only the group's facilitators read the reports.",
  itemTitle: "Report from {name}",
  itemWhen: "Received: {time}.",
  itemReason: "Their reason: {reason}",
  itemNoReason: "No reason given.",
  contextTitle: "The message and those around it",
  reportedTag: "Reported message",
  seenText: "What {name} saw: “{text}”",
  gone: "This message is no longer here. It was deleted or erased.",
  deleteLabel: "Delete for everyone: {name}'s message",
  closeButton: "Close the report",
  closeLabel: "Close the report from {name}",
  closed: "The report is closed.",
  countNone: "Reports: none to read",
  countOne: "1 report to read",
  countMany: "{n} reports to read",
  announce: "New report in {group}.",
  answered: "The association answered your report.",
  adminChoice: "Report to the association",
  adminAskTitle: "Show this message to the association?",
  adminAsk1: "The admins of {who} will read the text of this message.",
  adminAssociation: "the association that hosts Cercle",
  adminAsk2: "Only this message. They do not read the group's other messages.",
  adminAsk3: "They will know that you are the one reporting.",
  adminAsk4: "Do it for a serious message: a threat, harassment, a danger.",
  adminYes: "Yes, show this message to the association",
  adminNo: "No, go back",
  adminDone: "You reported this message to the association. Their answer will show here.",
  adminAnswer: "The association's answer: {text}",
};

export function rt(key: RKey, vars: Record<string, string | number> = {}): string {
  const table = lang() === "en" ? en : fr;
  return table[key].replace(/\{(\w+)\}/g, (_, name: string) => String(vars[name] ?? ""));
}

/** "1 signalement à lire", "{n} signalements à lire", or that there are none. */
export function reportCount(n: number): string {
  return n === 0 ? rt("countNone") : n === 1 ? rt("countOne") : rt("countMany", { n });
}
