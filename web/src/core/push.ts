// Web Push with the relay (issue 15, items 2 and 3), loaded on demand (Messenger.push()): this
// device's subscription sent to the relay or withdrawn, checked first as the relay checks it, and
// the device's choices of what a notification may say. The choices stay in this device's IndexedDB
// (kv "notifications"), never sent to the relay and never put in a backup; the service worker
// (public/sw.js) reads the same record when a push arrives.
import { own } from "./bytes";
import type { Context } from "./context";
import { put } from "./store";

/** A device's choices. Off, and neutral words only, until the person chooses otherwise. */
export interface PushChoices {
  /** This device asked the relay for pushes (and the browser holds a subscription). */
  on: boolean;
  /** In a direct conversation, the notification names the other person's pseudonym. */
  showSender: boolean;
  /** In a group, the notification names the group. */
  showGroup: boolean;
  /** The words of the notifications: the service worker has no page to ask. */
  lang: "fr" | "en";
}

/** The record's key in the "kv" table; public/sw.js reads the same key. */
export const CHOICES_KEY = "notifications";

export const DEFAULT_CHOICES: PushChoices = { on: false, showSender: false, showGroup: false, lang: "fr" };

/** What the browser's PushSubscription gives (getKey("p256dh"), getKey("auth")). */
export interface SubscriptionKeys {
  endpoint: string;
  p256dh: Uint8Array;
  auth: Uint8Array;
}

/** The relay's limit on an endpoint's length (server/push/subscription.h kMaxEndpointSize). */
export const MAX_ENDPOINT_BYTES = 2048;

/** A subscription the relay would refuse, refused here before anything is sent; `field` says which part. */
export class SubscriptionRefused extends Error {
  constructor(readonly field: "endpoint" | "p256dh" | "auth") {
    super(`the push subscription's ${field} is not valid`);
    this.name = "SubscriptionRefused";
  }
}

function endpointValid(endpoint: string): boolean {
  if (new TextEncoder().encode(endpoint).length > MAX_ENDPOINT_BYTES) return false;
  try {
    const url = new URL(endpoint);
    return url.protocol === "https:" && !url.username && !url.password && url.hostname !== "";
  } catch {
    return false;
  }
}

/** Whether `point` is an uncompressed point of P-256 (WebCrypto refuses any other). */
async function isP256Point(point: Uint8Array): Promise<boolean> {
  if (point.length !== 65 || point[0] !== 0x04) return false;
  try {
    await crypto.subtle.importKey("raw", own(point), { name: "ECDH", namedCurve: "P-256" }, false, []);
    return true;
  } catch {
    return false;
  }
}

/**
 * Throws SubscriptionRefused for what the relay refuses with INVALID_ARGUMENT: an endpoint that is
 * not https (or too long, or with user info), a p256dh that is not a P-256 point, an auth that is
 * not 16 bytes. Whether the endpoint's address is public only the relay can tell (it resolves it).
 */
export async function checkSubscription(s: SubscriptionKeys): Promise<void> {
  if (!endpointValid(s.endpoint)) throw new SubscriptionRefused("endpoint");
  if (!(await isP256Point(s.p256dh))) throw new SubscriptionRefused("p256dh");
  if (s.auth.length !== 16) throw new SubscriptionRefused("auth");
}

export class Push {
  constructor(private readonly ctx: Context) {}

  /** The instance's VAPID public key (the browser's applicationServerKey); empty when push is off. */
  get publicKey(): Uint8Array {
    return this.ctx.hello?.pushPublicKey ?? new Uint8Array();
  }

  async choices(): Promise<PushChoices> {
    const saved = await this.ctx.store.get<Partial<PushChoices>>("kv", CHOICES_KEY).catch(() => undefined);
    return { ...DEFAULT_CHOICES, ...saved };
  }

  async saveChoices(next: PushChoices): Promise<void> {
    await this.ctx.store.write([put("kv", CHOICES_KEY, next)]);
  }

  /** Sends this device's subscription to the relay (it replaces any older one); checked first. */
  async register(s: SubscriptionKeys): Promise<void> {
    await checkSubscription(s);
    const value = { endpoint: s.endpoint, p256dh: s.p256dh, auth: s.auth };
    await this.ctx.requireWire().call({ case: "registerPushSubscription", value }, "done");
  }

  /** The relay forgets this device's subscription (also when there is none). */
  async unregister(): Promise<void> {
    await this.ctx.requireWire().call({ case: "unregisterPushSubscription", value: {} }, "done");
  }
}
