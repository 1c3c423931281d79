// A relay double for tests: sits between the browser and the real cercle-server, passing the page's
// files and its WebSocket through unchanged, except where a test asks it to misbehave (as a relay
// that lets a forged commit through would). Node's http server, WebSocket framing written here for
// the browser side (no extensions, binary messages), node's WebSocket client to the real relay.
import { createHash } from "node:crypto";
import { createServer, request } from "node:http";
import { fromBinary, proto, toBinary } from "../build-node/core.mjs";
import { within } from "./support.mjs";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

function frame(opcode, payload) {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x80 | opcode, n]) : n < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  if (n >= 126 && n < 65536) {
    head[0] = 0x80 | opcode;
    head[1] = 126;
    head.writeUInt16BE(n, 2);
  } else if (n >= 65536) {
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, Buffer.from(payload)]);
}

/** Reads the browser's (masked) frames from a socket; calls back with whole messages. */
function readFrames(socket, onMessage, onClose, onPing) {
  let buffer = Buffer.alloc(0);
  let parts = [];
  socket.on("data", (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      if (buffer.length < 2) return;
      const fin = (buffer[0] & 0x80) !== 0;
      const opcode = buffer[0] & 0x0f;
      const masked = (buffer[1] & 0x80) !== 0;
      let len = buffer[1] & 0x7f;
      let offset = 2;
      if (len === 126) {
        if (buffer.length < 4) return;
        len = buffer.readUInt16BE(2);
        offset = 4;
      } else if (len === 127) {
        if (buffer.length < 10) return;
        len = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      const maskAt = offset;
      if (masked) offset += 4;
      if (buffer.length < offset + len) return;
      const payload = Buffer.from(buffer.subarray(offset, offset + len));
      if (masked) for (let i = 0; i < len; i++) payload[i] ^= buffer[maskAt + (i % 4)];
      buffer = buffer.subarray(offset + len);
      if (opcode === 0x8) return onClose();
      if (opcode === 0x9) {
        onPing(payload);
        continue;
      }
      if (opcode === 0xa) continue;
      parts.push(payload);
      if (fin) {
        onMessage(Buffer.concat(parts));
        parts = [];
      }
    }
  });
}

/**
 * Starts the double in front of `server` (from startServer). `double.url` serves the page; a test
 * sets `double.rewrite = (delivery) => delivery | replacement` to change what the browser receives.
 */
export async function startRelayDouble(server) {
  const target = new URL(server.url);
  const sockets = new Set();
  const double = {
    url: "",
    /** Called for every delivery sent to the browser; returns what the browser gets instead. */
    rewrite: (d) => d,
    /** Called for every answer to a request (a Response); may change it in place. */
    rewriteResponse: () => {},
    /** The kind of every request the client sent through the double, in order. */
    requests: [],
    /** Called with each request's kind; a promise returned holds it (and what follows) until it settles. */
    hold: () => undefined,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => http.close(r));
    },
  };

  const http = createServer((req, res) => {
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });

  http.on("upgrade", (req, socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    const key = req.headers["sec-websocket-key"];
    const accept = createHash("sha1").update(key + GUID).digest("base64");
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    const relay = new WebSocket(server.ws);
    relay.binaryType = "arraybuffer";
    const early = [];
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      try {
        socket.end(frame(0x8, Buffer.alloc(0)));
      } catch {
        // Already gone.
      }
      relay.close();
    };
    relay.onopen = () => {
      for (const m of early.splice(0)) relay.send(m);
    };
    relay.onmessage = (event) => {
      let bytes = new Uint8Array(event.data);
      try {
        const f = fromBinary(proto.ServerFrameSchema, bytes);
        if (f.kind.case === "deliveries") {
          f.kind.value.deliveries = f.kind.value.deliveries.map((d) => double.rewrite(d) ?? d);
          bytes = toBinary(proto.ServerFrameSchema, f);
        } else if (f.kind.case === "response") {
          double.rewriteResponse(f.kind.value);
          bytes = toBinary(proto.ServerFrameSchema, f);
        }
      } catch {
        // Passed through as it came.
      }
      if (!closed) socket.write(frame(0x2, bytes));
    };
    relay.onclose = close;
    relay.onerror = close;
    socket.on("error", close);
    socket.on("close", close);
    const note = (message) => {
      try {
        const kind = fromBinary(proto.ClientFrameSchema, new Uint8Array(message)).request.case;
        double.requests.push(kind);
        return double.hold(kind);
      } catch {
        return undefined;  // Not a frame: passed on as it came.
      }
    };
    let order = Promise.resolve();
    readFrames(
      socket,
      (message) => {
        const held = note(message);
        order = order.then(async () => {
          await held;
          relay.readyState === WebSocket.OPEN ? relay.send(message) : early.push(message);
        });
      },
      close,
      (payload) => socket.write(frame(0xa, payload)),
    );
  });

  await within(10_000, "relay double to listen", new Promise((r) => http.listen(0, "127.0.0.1", r)));
  double.url = `http://127.0.0.1:${http.address().port}`;
  return double;
}
