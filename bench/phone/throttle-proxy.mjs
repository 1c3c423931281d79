// A TCP proxy between Chromium and the relay that slows WebSocket connections only: each direction
// is a 400 kbit/s link (bytes queue behind each other) followed by half the round trip of latency.
// Chromium's own network emulation (Network.emulateNetworkConditions) already slows the page's HTTP
// requests; it does not slow WebSocket frames (run.mjs checks it, see bench/README.md), so without
// this a page would talk to the relay as fast as over loopback.
import net from "node:net";

/** One direction of a slow link: a chunk leaves after the ones before it, then travels `delayMs`. */
class SlowLink {
  constructor(out, bytesPerSecond, delayMs) {
    this.out = out;
    this.bytesPerSecond = bytesPerSecond;
    this.delayMs = delayMs;
    this.busyUntil = 0;
  }

  send(chunk) {
    const start = Math.max(performance.now(), this.busyUntil);
    this.busyUntil = start + (chunk.length * 1000) / this.bytesPerSecond;
    const at = this.busyUntil + this.delayMs;
    setTimeout(() => this.out.destroyed || this.out.write(chunk), Math.max(0, at - performance.now()));
  }

  /** Ends `out` once every chunk sent before has left. */
  end() {
    const at = this.busyUntil + this.delayMs;
    setTimeout(() => this.out.end(), Math.max(0, at - performance.now()) + 1);
  }
}

/** Whether a connection's first bytes are a WebSocket upgrade (Chromium opens one connection per socket). */
const isUpgrade = (first) => /^GET [^\r\n]* HTTP\/1\.1\r\n/.test(first) && /\r\nupgrade:\s*websocket/i.test(first);

/**
 * Starts the proxy on 127.0.0.1 (port 0) to `target` (a port on 127.0.0.1). Returns { port, close,
 * counts, throttle }: counts.throttled and counts.direct say how many connections took each way;
 * `throttle = false` lets new connections through at loopback speed (setting up).
 */
export async function startThrottleProxy(target, { kbitPerSecond = 400, rttMs = 400 } = {}) {
  const bytesPerSecond = (kbitPerSecond * 1000) / 8;
  const counts = { throttled: 0, direct: 0 };
  const sockets = new Set();
  const proxy = { port: 0, counts, throttle: true, close: undefined };
  const server = net.createServer((client) => {
    client.setNoDelay(true);
    const upstream = net.connect(target, "127.0.0.1");
    upstream.setNoDelay(true);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
    }
    client.once("data", (first) => {
      if (!proxy.throttle || !isUpgrade(first.toString("latin1"))) {
        counts.direct++;
        upstream.write(first);
        client.pipe(upstream);
        upstream.pipe(client);
        return;
      }
      counts.throttled++;
      const up = new SlowLink(upstream, bytesPerSecond, rttMs / 2);
      const down = new SlowLink(client, bytesPerSecond, rttMs / 2);
      up.send(first);
      client.on("data", (d) => up.send(d));
      upstream.on("data", (d) => down.send(d));
      client.on("end", () => up.end());
      upstream.on("end", () => down.end());
    });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.port = server.address().port;
  proxy.close = () => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(resolve));
  };
  return proxy;
}
