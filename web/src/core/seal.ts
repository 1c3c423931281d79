// A report on one message, sealed to a facilitator's device as the C++ SDK does it
// (client/sdk/client_moderation.cpp): libsodium's crypto_box_seal to the device's report key (its
// MLS leaf's extension 0xF0A2, an X25519 public key) or, for a leaf without one, to the X25519 key
// converted from the leaf's Ed25519 signature key (both read from the ratchet tree, never from the
// relay), over an encoded ReportContent (client/sdk/local.proto, written here by hand: that file is
// the C++ client's, not part of the wire protocol the page generates code from); crypto_box_seal_open
// with the device's report key. Pure functions; only the reporting code imports this (not in the
// first load).
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
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

/** The ReportContent in `bytes`; throws when it is not one (unknown fields are skipped). */
export function decodeReport(bytes: Uint8Array): ReportContent {
  const r = new BinaryReader(bytes);
  const out: ReportContent = { conversationId: new Uint8Array(), seq: 0, text: "", reason: "", reporter: "" };
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WireType.LengthDelimited) out.conversationId = r.bytes();
    else if (field === 2 && wire === WireType.Varint) out.seq = Number(r.uint64());
    else if (field === 3 && wire === WireType.LengthDelimited) out.text = r.string();
    else if (field === 4 && wire === WireType.LengthDelimited) out.reason = r.string();
    else if (field === 5 && wire === WireType.LengthDelimited) out.reporter = r.string();
    else r.skip(wire);
  }
  return out;
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

/** crypto_box_seal's nonce: BLAKE2b-192(ephemeral public || recipient public). */
function sealNonce(ephemeral: Uint8Array, recipient: Uint8Array): Uint8Array {
  return blake2b(concat(ephemeral, recipient), { dkLen: 24 });
}

/**
 * crypto_box_seal(message, recipient) to an X25519 public key: an ephemeral key pair, the nonce
 * BLAKE2b-192(ephemeral public || recipient public), XSalsa20-Poly1305; the output is the
 * ephemeral public key, the tag, then the ciphertext.
 */
export function sealToX25519(recipient: Uint8Array, message: Uint8Array): Uint8Array {
  const eph = x25519.keygen();
  const key = boxKey(x25519.getSharedSecret(eph.secretKey, recipient));
  const boxed = xsalsa20poly1305(key, sealNonce(eph.publicKey, recipient)).encrypt(message);
  eph.secretKey.fill(0);
  key.fill(0);
  return concat(eph.publicKey, boxed);
}

/** crypto_box_seal to the X25519 form of an Ed25519 public key (a leaf without a report key). */
export function sealTo(edPublicKey: Uint8Array, message: Uint8Array): Uint8Array {
  return sealToX25519(ed25519.utils.toMontgomery(edPublicKey), message);
}

/** The X25519 public key of a report key's private part. */
export function reportPublicKey(secret: Uint8Array): Uint8Array {
  return x25519.getPublicKey(secret);
}

/**
 * crypto_box_seal_open with this device's X25519 private key: the message, or undefined when the
 * box was not sealed to this key or was changed (too short, wrong tag, a low-order ephemeral key).
 */
export function openSealed(secret: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
  if (sealed.length < 32 + 16) return undefined;
  const eph = sealed.subarray(0, 32);
  let key: Uint8Array | undefined;
  try {
    key = boxKey(x25519.getSharedSecret(secret, eph));
    return xsalsa20poly1305(key, sealNonce(eph, reportPublicKey(secret))).decrypt(sealed.subarray(32));
  } catch {
    return undefined;
  } finally {
    key?.fill(0);
  }
}
