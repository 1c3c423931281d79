// The connection to the relay: hello, Ed25519 authentication, the loop that reconnects with backoff
// (1 s to 30 s with jitter, at once when the page says the device is back online), and the
// connection that said hello before any account exists (registration, pairing, restoring a backup).
// Part of the Messenger (messenger.ts); runs on the page's (or node's) single thread.
import { create } from "@bufbuild/protobuf";
import { sleep } from "./bytes";
import type { Context } from "./context";
import { AccountType, authTranscript, ErrorCode, HelloSchema, ProtocolVersion, type AuthResult, type HelloResult, type ServerFrame } from "./proto";
import { sign, type KeyHandle } from "./signer";
import { put } from "./store";
import { RelayError, Wire } from "./wire";

const MAX_BACKOFF_MS = 30_000;

/** What the rest of the client does with a connection. */
export interface ConnectionHooks {
  /** A push from the relay on `wire`. */
  onPush(wire: Wire, frame: ServerFrame): void;
  /** Signed in on `wire` (key packages, invitations, the outbox). */
  afterOnline(wire: Wire): Promise<void>;
  /** The loop starts (once until stop()). */
  onStart(): void;
  onStop(): void;
}

/** A connection that said hello and is not signed in. */
interface Anonymous {
  wire: Wire;
  /** The hello's challenge is still unused. */
  fresh: boolean;
}

export class Connection {
  private anon?: Anonymous;
  private opening?: Promise<{ wire: Wire; hello: Promise<HelloResult> }>;
  private running = false;
  private wake?: () => void;
  /** Set when reconnectNow() comes during an attempt: the next pause is skipped and the backoff starts again. */
  private wakeAsked = false;

  constructor(
    private readonly ctx: Context,
    private readonly url: string,
    private readonly clientName: string,
    private readonly hooks: ConnectionHooks,
  ) {}

  /** Opens (or reuses) a connection that has said hello but is not authenticated. */
  async connectAnonymous(): Promise<HelloResult> {
    if (this.anon && !this.anon.wire.isClosed && this.ctx.hello) return this.ctx.hello;
    return (await this.openAnonymous()).hello;
  }

  /**
   * The anonymous connection being opened, its hello sent and maybe not answered yet: a request
   * sent meanwhile (resolving a contact link) goes in the same round trip, since the relay answers
   * a connection's requests in order. Shared by the callers that come while it opens.
   */
  private openAnonymous(): Promise<{ wire: Wire; hello: Promise<HelloResult> }> {
    if (this.opening) return this.opening;
    const opening = (this.opening = (async () => {
      const wire = await Wire.open(this.url);
      wire.onPush = (f) => this.hooks.onPush(wire, f);
      const hello = this.sayHello(wire).then(
        (h) => {
          this.ctx.hello = h;
          this.anon = { wire, fresh: true };
          return h;
        },
        (e: unknown) => {
          wire.close();
          throw e;
        },
      );
      return { wire, hello };
    })());
    const done = () => {
      if (this.opening === opening) this.opening = undefined;
    };
    opening.then((o) => o.hello).then(done, done);
    return opening;
  }

  /** The anonymous connection (opened by connectAnonymous). */
  anonymous(): Wire {
    if (!this.anon) throw new Error("no anonymous connection");
    return this.anon.wire;
  }

  /** A challenge to sign on the anonymous connection: the hello's once, then a new one each time. */
  async challenge(): Promise<Uint8Array> {
    const anon = this.anon!;
    let challenge = this.ctx.hello!.challenge;
    if (!anon.fresh) challenge = (await anon.wire.call({ case: "getChallenge", value: {} }, "challenge")).challenge;
    anon.fresh = false;
    return challenge;
  }

  /** Signs in on the anonymous connection with `device`'s key. */
  async signInAnonymous(device: KeyHandle): Promise<AuthResult> {
    const challenge = await this.challenge();
    const signature = await sign(device, authTranscript(this.ctx.hello!.instanceId, challenge));
    return this.anonymous().call({ case: "authenticate", value: { devicePublicKey: device.publicKey, signature } }, "auth");
  }

  /** The anonymous connection is signed in as the account now held: it becomes the loop's first. */
  adoptAnonymous(): void {
    const wire = this.anonymous();
    this.anon = undefined;
    this.startLoop(wire);
  }

  closeAnonymous(): void {
    this.anon?.wire.close();
    this.anon = undefined;
  }

  /** On the signed-in connection, else the anonymous one (right behind its hello while it opens). */
  async resolveContactLink(token: string) {
    const request = { case: "resolveContactLink", value: { token } } as const;
    if (this.ctx.wire && !this.ctx.wire.isClosed) return this.ctx.wire.call(request, "contactLink");
    if (this.anon && !this.anon.wire.isClosed && this.ctx.hello) return this.anon.wire.call(request, "contactLink");
    return (await this.openAnonymous()).wire.call(request, "contactLink");
  }

  /** Connects (with `first`, a connection already signed in, if given) and reconnects until stop(). */
  startLoop(first: Wire | undefined): void {
    if (this.running) return;
    this.running = true;
    this.hooks.onStart();
    void this.loop(first);
  }

  stop(): void {
    this.running = false;
    this.hooks.onStop();
    this.ctx.wire?.close();
    this.anon?.wire.close();
    this.wake?.();
    this.ctx.setState("stopped");
  }

  /** Drops the connection now (the device went offline); the loop reconnects later. */
  disconnect(): void {
    this.ctx.wire?.close();
  }

  /** Skips the wait before the next attempt (the device is back online). */
  reconnectNow(): void {
    // The device may come back online while an attempt started offline is still failing: without this,
    // that attempt's pause could be the longest backoff, and someone back online would wait for nothing.
    if (this.wake) this.wake();
    else this.wakeAsked = true;
  }

  /** Waits until the state is online (or the timeout passes). */
  async waitOnline(timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (this.ctx.state !== "online" && Date.now() < end) await sleep(50);
    return this.ctx.state === "online";
  }

  private async loop(first: Wire | undefined): Promise<void> {
    let backoff = 1000;
    while (this.running) {
      let wire = first;
      first = undefined;
      try {
        wire ??= await this.connect();
        this.ctx.wire = wire;
        this.ctx.setState("online");
        backoff = 1000;
        this.wakeAsked = false;
        void this.hooks.afterOnline(wire);
        await wire.closed;
      } catch (e) {
        wire?.close();
        if (e instanceof RelayError && e.code === ErrorCode.AUTH_FAILED) backoff = MAX_BACKOFF_MS;
      }
      this.ctx.wire = undefined;
      if (!this.running) break;
      if (this.wakeAsked) {
        this.wakeAsked = false;
        backoff = 1000;
        continue;
      }
      await this.pause(backoff);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }

  /** Offline until the backoff (with jitter) passes or reconnectNow() is called. */
  private async pause(backoff: number): Promise<void> {
    this.ctx.setState("offline");
    const delay = Math.round(backoff * (0.75 + Math.random() * 0.5));
    this.ctx.retryAt = Date.now() + delay;
    this.ctx.stateChanged();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delay);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = undefined;
  }

  /** A new connection, signed in as this device (closed again if that fails). */
  private async connect(): Promise<Wire> {
    this.ctx.setState("connecting");
    const wire = await Wire.open(this.url);
    wire.onPush = (f) => this.hooks.onPush(wire, f);
    try {
      await this.authenticate(wire);
    } catch (e) {
      wire.close();
      throw e;
    }
    return wire;
  }

  private sayHello(wire: Wire): Promise<HelloResult> {
    return wire.call(
      { case: "hello", value: create(HelloSchema, { protocolVersion: ProtocolVersion.PROTOCOL_VERSION_1, clientName: this.clientName }) },
      "hello",
    );
  }

  private async authenticate(wire: Wire): Promise<void> {
    const account = this.ctx.account!;
    const hello = await this.sayHello(wire);
    this.ctx.hello = hello;
    const signature = await sign(account.device, authTranscript(hello.instanceId, hello.challenge));
    const auth = await wire.call({ case: "authenticate", value: { devicePublicKey: account.device.publicKey, signature } }, "auth");
    await this.learnType(auth);
  }

  /**
   * Keeps the account type the relay gives at sign-in: key packages declare it (the relay refuses
   * a professional's package that does not, and drops the old ones when an admin changes it).
   */
  private async learnType(auth: AuthResult): Promise<void> {
    const account = this.ctx.account!;
    if ((account.type ?? AccountType.PEER) === (auth.type || AccountType.PEER)) return;
    account.type = auth.type;
    await this.ctx.store.write([put("kv", "account", account)]);
    this.ctx.useAccount(account);
  }
}
