// A report on one message, sealed to a facilitator's device as the C++ SDK does it
// (client/sdk/client_moderation.cpp): libsodium's crypto_box_seal to the X25519 key converted from
// the device's Ed25519 key (its MLS leaf's signature key, read from the ratchet tree, never from
// the relay), over an encoded ReportContent (client/sdk/local.proto, written here by hand: that
// file is the C++ client's, not part of the wire protocol the page generates code from).
// Pure functions; only the reporting code imports this (not in the first load).
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { hsalsa, xsalsa20poly1305 } from "@noble/ciphers/salsa.js";
import { blake2b } from "@noble/hashes/blake2.js";
import { concat } from "./bytes";

/** What a facilitator's client opens: the same fields and numbers as local.proto's ReportContent. */
export interface ReportContent {
  conversationId: Uint8Array;
  seq: number;
  text: string;
  reason: string;
  reporter: string;
}

export function encodeReport(r: ReportContent): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, 2).bytes(r.conversationId);
  w.tag(2, 0).uint64(r.seq);
  w.tag(3, 2).string(r.text);
  if (r.reason) w.tag(4, 2).string(r.reason);
  w.tag(5, 2).string(r.reporter);
  return w.finish();
}

const SIGMA = new TextEncoder().encode("expand 32-byte k");

function words(bytes: Uint8Array): Uint32Array {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Uint32Array.from({ length: bytes.length / 4 }, (_, i) => v.getUint32(i * 4, true));
}

function unwords(w: Uint32Array): Uint8Array {
  const out = new Uint8Array(w.length * 4);
  const v = new DataView(out.buffer);
  w.forEach((x, i) => v.setUint32(i * 4, x, true));
  return out;
}

/** crypto_box_beforenm: HSalsa20 of the X25519 shared secret with a zero input. */
function boxKey(shared: Uint8Array): Uint8Array {
  const out = new Uint32Array(8);
  hsalsa(words(SIGMA), words(shared), new Uint32Array(4), out);
  return unwords(out);
}

/**
 * crypto_box_seal(message, X25519(edPublicKey)): an ephemeral key pair, the nonce
 * BLAKE2b-192(ephemeral public || recipient public), XSalsa20-Poly1305; the output is the
 * ephemeral public key, the tag, then the ciphertext.
 */
export function sealTo(edPublicKey: Uint8Array, message: Uint8Array): Uint8Array {
  const recipient = ed25519.utils.toMontgomery(edPublicKey);
  const eph = x25519.keygen();
  const nonce = blake2b(concat(eph.publicKey, recipient), { dkLen: 24 });
  const key = boxKey(x25519.getSharedSecret(eph.secretKey, recipient));
  const boxed = xsalsa20poly1305(key, nonce).encrypt(message);
  eph.secretKey.fill(0);
  key.fill(0);
  return concat(eph.publicKey, boxed);
}
