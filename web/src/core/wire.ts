// One WebSocket to the relay: request/response by request id, server pushes handed to a callback.
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import {
  ClientFrameSchema,
  ErrorCode,
  ServerFrameSchema,
  type Response,
  type ServerFrame,
} from "./proto";

export type Request = NonNullable<MessageInitShape<typeof ClientFrameSchema>["request"]>;
type Result = Response["result"];
export type ResultCase = NonNullable<Result["case"]>;
export type ResultOf<C extends ResultCase> = Extract<Result, { case: C }>["value"];

/** An Error answer of the relay, with its stable code. */
export class RelayError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly currentEpoch = 0n,
    readonly retryAfterMs = 0n,
  ) {
    super(message);
    this.name = "RelayError";
  }
}

/** The connection closed (or never opened) before the answer came. */
export class ConnectionLost extends Error {
  constructor(message = "connection lost") {
    super(message);
    this.name = "ConnectionLost";
  }
}

interface Pending {
  expect: ResultCase;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export const DEFAULT_TIMEOUT_MS = 20_000;

/**
 * The socket public/assets/early.js opened on a contact link's page while the code was on its way
 * (two round trips fewer once it arrives): taken by the first connection to the same address, once;
 * one already closing is dropped. The relay says nothing before the client's hello, so no frame
 * was missed while nobody listened.
 */
function earlySocket(url: string): WebSocket | undefined {
  const early = (globalThis as { cercleEarly?: { socket?: WebSocket | null } }).cercleEarly;
  const ws = early?.socket;
  if (!early || !ws) return undefined;
  early.socket = null;
  if (ws.url === url && ws.readyState <= WebSocket.OPEN) return ws;
  ws.close();
  return undefined;
}

export class Wire {
  private nextId = 1n;
  private readonly pending = new Map<bigint, Pending>();
  private closedResolve!: () => void;
  /** Settles when the socket is closed, whoever closed it. */
  readonly closed: Promise<void> = new Promise((r) => (this.closedResolve = r));
  isClosed = false;
  onPush: (frame: ServerFrame) => void = () => {};

  private constructor(private readonly ws: WebSocket) {
    ws.binaryType = "arraybuffer";
    ws.onmessage = (event) => this.onMessage(event.data);
    ws.onclose = () => this.finish();
    ws.onerror = () => this.finish();
  }

  /** Opens a WebSocket; rejects with ConnectionLost if it is not open within timeoutMs. */
  static open(url: string, timeoutMs = 10_000): Promise<Wire> {
    return new Promise((resolve, reject) => {
      let ws = earlySocket(url);
      if (ws?.readyState === WebSocket.OPEN) return resolve(new Wire(ws));
      try {
        ws ??= new WebSocket(url);
      } catch {
        reject(new ConnectionLost("cannot open the connection"));
        return;
      }
      const timer = setTimeout(() => {
        ws.onopen = ws.onerror = ws.onclose = null;
        ws.close();
        reject(new ConnectionLost("connection timed out"));
      }, timeoutMs);
      ws.onopen = () => {
        clearTimeout(timer);
        resolve(new Wire(ws));
      };
      ws.onerror = ws.onclose = () => {
        clearTimeout(timer);
        reject(new ConnectionLost("cannot open the connection"));
      };
    });
  }

  /** Sends one request and resolves with the expected result kind; rejects with RelayError or ConnectionLost. */
  call<C extends ResultCase>(request: Request, expect: C, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ResultOf<C>> {
    if (this.isClosed) return Promise.reject(new ConnectionLost());
    const id = this.nextId++;
    const frame = create(ClientFrameSchema, { requestId: id, request });
    return new Promise<ResultOf<C>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ConnectionLost("no answer in time"));
        this.close();  // A silent connection is not trusted any more: reconnect.
      }, timeoutMs);
      this.pending.set(id, { expect, resolve: resolve as (v: unknown) => void, reject, timer });
      try {
        this.ws.send(toBinary(ClientFrameSchema, frame));
      } catch {
        this.close();
      }
    });
  }

  /** Sends a request whose answer nobody waits for (Ack). */
  fire(request: Request): void {
    this.call(request, "ack").catch(() => {});
  }

  close(): void {
    try {
      this.ws.close();
    } catch {
      // Already closed.
    }
    this.finish();
  }

  private finish(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.ws.onmessage = null;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new ConnectionLost());
    }
    this.pending.clear();
    this.closedResolve();
  }

  private onMessage(data: unknown): void {
    if (!(data instanceof ArrayBuffer)) return;  // The relay only sends binary frames.
    let frame: ServerFrame;
    try {
      frame = fromBinary(ServerFrameSchema, new Uint8Array(data));
    } catch {
      return;
    }
    if (frame.kind.case !== "response") {
      this.onPush(frame);
      return;
    }
    const response = frame.kind.value;
    const p = this.pending.get(response.requestId);
    if (!p) return;
    this.pending.delete(response.requestId);
    clearTimeout(p.timer);
    const result = response.result;
    if (result.case === "error") {
      const e = result.value;
      p.reject(new RelayError(e.code, e.message, e.currentEpoch, e.retryAfterMs));
    } else if (result.case === p.expect) {
      p.resolve(result.value);
    } else {
      p.reject(new RelayError(ErrorCode.INTERNAL, `unexpected answer ${String(result.case)}`));
    }
  }
}
