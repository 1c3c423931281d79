// An account's devices as its signed chain says them (device-chain.ts), for the messenger: the pins
// this device keeps of every account it met, the check before any device joins a conversation,
// adding a device to this account with a signed link, and both sides of pairing a new device
// (docs/SECURITY.md, "Device approval"). Runs on the page's (or node's) single thread.
import { equalBytes } from "./bytes";
import * as dc from "./device-chain";
import type { ChainErrc, ChainPin, ChainView } from "./device-chain";
import { DeviceLinkOp, ErrorCode, type AccountInfo, type DeviceLink, type DeviceRequestInfo } from "./proto";
import { generateKey, type KeyHandle } from "./signer";
import { put, type Store } from "./store";
import { RelayError, type Wire } from "./wire";

/** Why an account's devices were not added: a chain refusal, a package outside the chain, or no chain. */
export type ChainProblem = ChainErrc | "notInChain" | "noChain";

/** The account's devices are not the ones its chain (or this device's pin of it) allows. */
export class DeviceChainRefused extends Error {
  constructor(
    readonly handle: string,
    readonly code: ChainProblem,
  ) {
    super(`${handle}'s devices were refused: ${code}`);
    this.name = "DeviceChainRefused";
  }
}

/** The code typed on the approving device is not the new device's. Nothing was added. */
export class WrongPairingCode extends Error {
  constructor(readonly triesLeft: number) {
    super("the pairing code does not match");
    this.name = "WrongPairingCode";
  }
}

export { signPossession } from "./device-chain";

/** Pins are kept by the handle folded (a relay cannot escape a pin by changing a handle's case). */
const pinKey = (handle: string) => `chainPin/${handle.normalize("NFKC").toLowerCase()}`;

export function readPin(store: Store, handle: string): Promise<ChainPin | undefined> {
  return store.get<ChainPin>("kv", pinKey(handle));
}

/** Pins `view` (a verified chain: never empty). */
export async function writePin(store: Store, handle: string, view: ChainView): Promise<void> {
  await store.write([put("kv", pinKey(handle), dc.pinOf(view))]);
}

/**
 * Verifies `account`'s chain against this device's pin (the first one seen is pinned; a pinned
 * chain may only grow). The relay gives every account a chain (Register and AddDevice need a link),
 * so an empty one is a relay hiding it: refused ("rootChanged" when pinned, else "noChain").
 */
export async function checkChain(store: Store, account: AccountInfo): Promise<ChainView> {
  const pin = await readPin(store, account.handle);
  if (account.chain.length === 0) throw new DeviceChainRefused(account.handle, pin ? "rootChanged" : "noChain");
  const check = await dc.verifyChain(account.handle, account.chain);
  if (!check.ok) throw new DeviceChainRefused(account.handle, check.refusal.code);
  const moved = pin && dc.checkPin(pin, check.view);
  if (moved) throw new DeviceChainRefused(account.handle, moved.code);
  return check.view;
}

/**
 * Before adding `account`'s devices to a conversation: its chain is valid and extends the pin, and
 * every key package's leaf signature key is a current device's MLS key. Grows the pin; throws
 * DeviceChainRefused otherwise (the caller then commits nothing).
 */
export async function checkDevicesToAdd(store: Store, account: AccountInfo, leafKeys: Uint8Array[]): Promise<void> {
  const view = await checkChain(store, account);
  if (leafKeys.some((k) => !dc.findDevice(view, k, true))) throw new DeviceChainRefused(account.handle, "notInChain");
  await writePin(store, account.handle, view);
}

/** Whether `view` lists a current device with exactly these keys. */
export function listed(view: ChainView, deviceKey: Uint8Array, mlsKey: Uint8Array): boolean {
  const d = dc.findDevice(view, deviceKey);
  return !!d && equalBytes(d.mlsKey, mlsKey);
}

/** This account's chain as the relay serves it, checked like anyone's. */
export async function ownChain(wire: Wire, store: Store, handle: string): Promise<{ handle: string; view: ChainView }> {
  const info = await wire.call({ case: "lookupAccount", value: { handle } }, "account");
  return { handle: info.handle, view: await checkChain(store, info) };
}

/** The first link of a new account: its first device adds itself. */
export async function firstLink(handle: string, device: KeyHandle, mlsKey: Uint8Array): Promise<{ link: DeviceLink; view: ChainView }> {
  const possession = await dc.signPossession(handle, device.publicKey, mlsKey, device);
  const link = await dc.makeLink(dc.emptyView(), handle, DeviceLinkOp.DEVICE_ADD, device.publicKey, mlsKey, BigInt(Date.now()), device, possession);
  const check = await dc.append(dc.emptyView(), handle, link);
  if (!check.ok) throw new Error(check.refusal.message);
  return { link, view: check.view };
}

export interface NewDevice {
  deviceKey: Uint8Array;
  mlsKey: Uint8Array;
  possession: Uint8Array;  // By the new device's key, over (handle, deviceKey, mlsKey).
}

/**
 * Adds a device to the account `wire` is signed in to, with the chain's next link signed by
 * `signer` (the signed-in device). When the chain moved on meanwhile (CHAIN_CONFLICT), reads it
 * again and signs anew, once. Returns the new device's id.
 */
export async function addLinkedDevice(wire: Wire, store: Store, handle: string, signer: KeyHandle, added: NewDevice): Promise<bigint> {
  for (let attempt = 0; ; attempt++) {
    const own = await ownChain(wire, store, handle);
    const link = await dc.makeLink(own.view, own.handle, DeviceLinkOp.DEVICE_ADD, added.deviceKey, added.mlsKey, BigInt(Date.now()), signer, added.possession);
    const next = await dc.append(own.view, own.handle, link);
    if (!next.ok) throw new DeviceChainRefused(own.handle, next.refusal.code);
    try {
      const res = await wire.call({ case: "addDevice", value: { devicePublicKey: added.deviceKey, link } }, "device");
      await writePin(store, own.handle, next.view);
      return res.deviceId;
    } catch (e) {
      if (attempt === 0 && e instanceof RelayError && e.code === ErrorCode.CHAIN_CONFLICT) continue;
      throw e;
    }
  }
}

// ---- pairing --------------------------------------------------------------------------------------

const POLL_MS = 1500;

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

/** Asks for a request's state until `done` says so (a rate-limited poll waits as told). */
async function pollRequest(wire: Wire, requestId: Uint8Array, done: (r: DeviceRequestInfo) => boolean, signal?: AbortSignal): Promise<DeviceRequestInfo> {
  for (;;) {
    try {
      const r = await wire.call({ case: "getDeviceRequest", value: { requestId } }, "deviceRequest");
      if (done(r)) return r;
      await pause(POLL_MS, signal);
    } catch (e) {
      if (!(e instanceof RelayError && e.code === ErrorCode.RATE_LIMITED)) throw e;
      await pause(Math.max(POLL_MS, Number(e.retryAfterMs)), signal);
    }
  }
}

/** The keys of a device that asks to join an account. */
export interface Requester {
  device: KeyHandle;
  mlsKey: KeyHandle;
}

export interface PairingSteps {
  /** The relay took the request: the person now goes to their other device. */
  onWaiting?(): void;
  /** Both nonces are known: the code to show, big. */
  onCode(code: string): void;
  signal?: AbortSignal;
}

/**
 * The new device's side, on a connection that said hello and did not sign in: asks to join
 * `handle`, commits to its nonce, reveals it once the approving device posted its own, shows the
 * code, and waits until a device of the account adds it. Returns the new device's id and the
 * account's handle as the relay stores it.
 */
export async function requestToJoin(wire: Wire, handle: string, steps: PairingSteps): Promise<{ deviceId: bigint; handle: string; keys: Requester }> {
  const keys: Requester = { device: await generateKey(), mlsKey: await generateKey() };
  const nonce = crypto.getRandomValues(new Uint8Array(dc.NONCE_BYTES));
  const name = handle.normalize("NFC");
  const possession = await dc.signPossession(name, keys.device.publicKey, keys.mlsKey.publicKey, keys.device);
  const made = await wire.call(
    {
      case: "requestDevice",
      value: { handle: name, devicePublicKey: keys.device.publicKey, mlsKey: keys.mlsKey.publicKey, possession, commitment: dc.commitment(nonce) },
    },
    "deviceRequest",
  );
  steps.onWaiting?.();
  const posted = await pollRequest(wire, made.requestId, (r) => r.approverNonce.length > 0, steps.signal);
  await wire.call({ case: "postPairingNonce", value: { requestId: made.requestId, nonce } }, "deviceRequest");
  steps.onCode(dc.pairingCode(made.handle, keys.device.publicKey, keys.mlsKey.publicKey, nonce, posted.approverNonce));
  const approved = await pollRequest(wire, made.requestId, (r) => r.deviceId !== 0n, steps.signal);
  return { deviceId: approved.deviceId, handle: made.handle, keys };
}

/** The approving device's side of one request, once both nonces are known. */
export interface Approval {
  request: DeviceRequestInfo;
  /** Tries left for typing the code. */
  tries: number;
  readonly code: string;  // Never shown: the person types what the new device shows.
}

/**
 * Starts approving `request` on a device of its account: checks the new device's proof, posts this
 * device's nonce, waits for the new device's, and checks it against its commitment.
 */
export async function startApproval(wire: Wire, request: DeviceRequestInfo, signal?: AbortSignal): Promise<Approval> {
  if (!(await dc.verifyPossession(request.handle, request.devicePublicKey, request.mlsKey, request.possession))) {
    throw new DeviceChainRefused(request.handle, "badSignature");
  }
  const nonce = crypto.getRandomValues(new Uint8Array(dc.NONCE_BYTES));
  await wire.call({ case: "postPairingNonce", value: { requestId: request.requestId, nonce } }, "deviceRequest");
  const revealed = await pollRequest(wire, request.requestId, (r) => r.deviceNonce.length > 0, signal);
  // The relay checks this too; a relay in the middle must not be trusted to.
  if (!equalBytes(dc.commitment(revealed.deviceNonce), request.commitment) || !equalBytes(revealed.approverNonce, nonce)) {
    throw new DeviceChainRefused(request.handle, "badSignature");
  }
  const code = dc.pairingCode(request.handle, request.devicePublicKey, request.mlsKey, revealed.deviceNonce, nonce);
  return { request, tries: 3, code };
}

/** The typed code, digits only ("123 456", "123456" and "123-456" are the same code). */
export function sameCode(typed: string, code: string): boolean {
  return typed.replace(/\D/g, "") === code.replace(/\D/g, "");
}
