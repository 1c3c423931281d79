// Talks to cercle-mls-driver over JSON lines (see ../DRIVER.md).
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

export class Driver {
  constructor(path) {
    this.proc = spawn(path, [], { stdio: ["pipe", "pipe", "inherit"] });
    this.pending = [];
    createInterface({ input: this.proc.stdout }).on("line", (line) => {
      const next = this.pending.shift();
      if (next) next(JSON.parse(line));
    });
  }
  // Sends one request; resolves with the response, rejects when ok is false.
  call(op, fields = {}) {
    return new Promise((resolve, reject) => {
      this.pending.push((res) => (res.ok ? resolve(res) : reject(new Error(`${op}: ${res.error.code}: ${res.error.message}`))));
      this.proc.stdin.write(JSON.stringify({ op, ...fields }) + "\n");
    });
  }
  close() {
    this.proc.stdin.end();
  }
}

export const hex = (b) => Buffer.from(b).toString("hex");
export const unhex = (s) => new Uint8Array(Buffer.from(s, "hex"));
