// Passphrase-protected backup files: PBKDF2-SHA-256 derives an AES-256-GCM key from the passphrase.
import { fromBase64, fromUtf8, own, toBase64, utf8 } from "./bytes";

export const BACKUP_FORMAT = "cercle-backup";
const ITERATIONS = 310_000;

export class BadBackupFile extends Error {}
export class BadPassphrase extends Error {}

interface Envelope {
  format: string;
  version: number;
  kdf: { name: "PBKDF2-SHA-256"; iterations: number; salt: string };
  cipher: { name: "AES-256-GCM"; iv: string };
  data: string;
}

async function deriveKey(passphrase: string, salt: Uint8Array, iterations: number): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey("raw", own(utf8(passphrase.normalize("NFC"))), "PBKDF2", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt: own(salt), iterations },
    base,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

/** Encrypts `value` (JSON-able) into the text of a backup file. */
export async function sealBackup(value: unknown, passphrase: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const key = await deriveKey(passphrase, salt, ITERATIONS);
  const plain = utf8(JSON.stringify(value));
  const data = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, own(plain)));
  const envelope: Envelope = {
    format: BACKUP_FORMAT,
    version: 1,
    kdf: { name: "PBKDF2-SHA-256", iterations: ITERATIONS, salt: toBase64(salt) },
    cipher: { name: "AES-256-GCM", iv: toBase64(iv) },
    data: toBase64(data),
  };
  return JSON.stringify(envelope);
}

/** Decrypts a backup file's text; throws BadBackupFile or BadPassphrase. */
export async function openBackup<T>(text: string, passphrase: string): Promise<T> {
  let env: Envelope;
  try {
    env = JSON.parse(text) as Envelope;
    if (env.format !== BACKUP_FORMAT || env.version !== 1 || env.kdf.iterations < 100_000) throw new Error();
  } catch {
    throw new BadBackupFile("not a backup");
  }
  const key = await deriveKey(passphrase, fromBase64(env.kdf.salt), env.kdf.iterations);
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: own(fromBase64(env.cipher.iv)) }, key, own(fromBase64(env.data)));
  } catch {
    throw new BadPassphrase("wrong passphrase");
  }
  return JSON.parse(fromUtf8(new Uint8Array(plain))) as T;
}
