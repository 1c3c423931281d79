// Backups: the form that makes one (account page) and the one that restores one on a browser
// without an account (home page). Loaded with those screens only.
import { BadPassphrase } from "../core/backup";
import type { Messenger } from "../core/messenger";
import { t } from "../i18n";
import { busy, errorText, type Shell } from "./common";
import { field, h } from "./dom";

const MIN_PASSPHRASE = 10;

/** Saves the backup text as a file the person downloads. */
function download(text: string, name: string): void {
  const blob = new Blob([text], { type: "application/json" });
  const a = h("a", { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

export function backupForm(m: Messenger): HTMLElement {
  const pass = h("input", { type: "password", name: "passphrase", autocomplete: "new-password", minlength: MIN_PASSPHRASE });
  const passField = field({ label: t("backupPassLabel"), hint: t("backupPassHint"), control: pass });
  const pass2 = h("input", { type: "password", name: "passphrase2", autocomplete: "new-password" });
  const pass2Field = field({ label: t("backupPass2Label"), control: pass2 });
  const button = h("button", { type: "submit" }, t("backupButton"));
  const done = h("p", { class: "notice", role: "status" });
  const form = h("form", { novalidate: true, "aria-labelledby": "backup-title" }, h("h2", { id: "backup-title" }, t("backupTitle")), h("p", {}, t("backupIntro")), passField.wrap, pass2Field.wrap, button, done);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(button, async () => {
      passField.error(null);
      pass2Field.error(null);
      done.textContent = "";
      if (pass.value.length < MIN_PASSPHRASE) {
        passField.error(t("backupShort"));
        pass.focus();
        return;
      }
      if (pass.value !== pass2.value) {
        pass2Field.error(t("backupMismatch"));
        pass2.focus();
        return;
      }
      try {
        download(await m.exportBackup(pass.value), `cercle-${m.account!.handle}.cercle`);
        pass.value = pass2.value = "";
        done.textContent = t("backupDone");
      } catch (err) {
        passField.error(errorText(err));
      }
    });
  });
  return form;
}

export function restoreForm(shell: Shell, m: Messenger): HTMLElement {
  const file = h("input", { type: "file", name: "backup", accept: ".cercle,application/json" });
  const fileField = field({ label: t("fileLabel"), control: file });
  const pass = h("input", { type: "password", name: "passphrase", autocomplete: "current-password" });
  const passField = field({ label: t("passphraseLabel"), control: pass });
  const button = h("button", { type: "submit" }, t("restoreButton"));
  const form = h("form", { novalidate: true }, h("h2", {}, t("homeRestoreTitle")), h("p", {}, t("homeRestoreIntro")), fileField.wrap, passField.wrap, button);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(button, async () => {
      fileField.error(null);
      passField.error(null);
      const chosen = file.files?.[0];
      if (!chosen) {
        fileField.error(t("restoreNoFile"));
        file.focus();
        return;
      }
      try {
        await m.importBackup(await chosen.text(), pass.value);
        shell.accountReady("#/");
      } catch (err) {
        const onPass = err instanceof BadPassphrase;
        (onPass ? passField : fileField).error(errorText(err));
        (onPass ? pass : file).focus();
      }
    });
  });
  return form;
}
