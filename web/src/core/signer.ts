// Ed25519 keys of this device. Where the browser implements Ed25519 in WebCrypto, private keys are
// non-extractable CryptoKeys: page scripts can sign with them but can never read them. Elsewhere they
// are raw bytes used through @noble/curves (loaded only then).
import { own } from "./bytes";

export type KeyHandle =
  | { kind: "webcrypto"; privateKey: CryptoKey; publicKey: Uint8Array }
  | { kind: "raw"; secret: Uint8Array; publicKey: Uint8Array };

let supported: Promise<boolean> | undefined;

/** Whether WebCrypto signs with Ed25519 here. */
export function webCryptoEd25519(): Promise<boolean> {
  supported ??= (async () => {
    try {
      const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"])) as CryptoKeyPair;
      await crypto.subtle.sign({ name: "Ed25519" }, pair.privateKey, new Uint8Array(1));
      return true;
    } catch {
      return false;
    }
  })();
  return supported;
}

async function noble() {
  return (await import("@noble/curves/ed25519.js")).ed25519;
}

/** A new key pair; `extractable` only for a backup key that must be written to a file. */
export async function generateKey(extractable = false): Promise<KeyHandle> {
  if (await webCryptoEd25519()) {
    const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, extractable, ["sign", "verify"])) as CryptoKeyPair;
    const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
    return { kind: "webcrypto", privateKey: pair.privateKey, publicKey };
  }
  const ed = await noble();
  const secret = ed.utils.randomSecretKey();
  return { kind: "raw", secret, publicKey: ed.getPublicKey(secret) };
}

export async function sign(key: KeyHandle, message: Uint8Array): Promise<Uint8Array> {
  if (key.kind === "webcrypto") {
    return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, key.privateKey, own(message)));
  }
  return (await noble()).sign(message, key.secret);
}

export async function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  if (await webCryptoEd25519()) {
    const key = await crypto.subtle.importKey("raw", own(publicKey), { name: "Ed25519" }, false, ["verify"]);
    return crypto.subtle.verify({ name: "Ed25519" }, key, own(signature), own(message));
  }
  return (await noble()).verify(signature, message, publicKey);
}

/** The private key as PKCS#8 (only for keys generated extractable, or raw ones). */
export async function exportPkcs8(key: KeyHandle): Promise<Uint8Array> {
  if (key.kind === "webcrypto") return new Uint8Array(await crypto.subtle.exportKey("pkcs8", key.privateKey));
  const prefix = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20);
  const out = new Uint8Array(48);
  out.set(prefix);
  out.set(key.secret, 16);
  return out;
}

/** Imports a PKCS#8 Ed25519 private key; non-extractable where WebCrypto allows it. */
export async function importPkcs8(pkcs8: Uint8Array, publicKey: Uint8Array): Promise<KeyHandle> {
  if (await webCryptoEd25519()) {
    const privateKey = await crypto.subtle.importKey("pkcs8", own(pkcs8), { name: "Ed25519" }, false, ["sign"]);
    return { kind: "webcrypto", privateKey, publicKey };
  }
  return { kind: "raw", secret: pkcs8.slice(16, 48), publicKey };
}
