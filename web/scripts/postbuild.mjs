// After vite build: gives public/early.js a hashed name under assets/ (vite leaves a classic script
// as it is), stamps the build's version and first-load files into the service worker (a new
// build is a new worker: it waits, src/ui/update.ts), writes a .gz twin of every text file
// (cercle-server serves it with Content-Encoding: gzip) and prints the first-load size against the budget.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { BUDGET_BYTES, TOTAL_BUDGET_BYTES, everything, firstLoad } from "./size.mjs";

const dist = fileURLToPath(new URL("../dist", import.meta.url));

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** The version: a hash of every file built but the worker itself, so any change makes a new one. */
function version() {
  const hash = createHash("sha256");
  for (const p of walk(dist).sort()) {
    const name = relative(dist, p).split("\\").join("/");
    if (name === "sw.js" || name.endsWith(".gz")) continue;
    hash.update(`${name}\0`).update(readFileSync(p)).update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}

function stampWorker() {
  const file = join(dist, "sw.js");
  const shell = firstLoad(dist).files.map((f) => `/${f.file}`).filter((f) => f.startsWith("/assets/"));
  const source = readFileSync(file, "utf8");
  const stamped = source.replace(/^const VERSION = "dev";$/m, `const VERSION = "${version()}";`).replace(/^const SHELL = \[\];/m, `const SHELL = ${JSON.stringify(shell)};`);
  if (!stamped.includes(`const SHELL = ${JSON.stringify(shell)};`) || stamped.includes('const VERSION = "dev";')) throw new Error("sw.js: VERSION or SHELL not found");
  writeFileSync(file, stamped);
}

/**
 * dist/early.js to dist/assets/early-<hash>.js, and index.html names it so: the relay serves
 * everything under /assets/ as never changing, and the service worker keeps the first load's
 * /assets/ files for offline starts.
 */
function hashEarlyScript() {
  const from = join(dist, "early.js");
  const name = `assets/early-${createHash("sha256").update(readFileSync(from)).digest("hex").slice(0, 8)}.js`;
  const page = join(dist, "index.html");
  const html = readFileSync(page, "utf8");
  if (!html.includes('<script src="/early.js"></script>')) throw new Error("index.html: early.js not found");
  renameSync(from, join(dist, name));
  writeFileSync(page, html.replace('<script src="/early.js"></script>', `<script src="/${name}"></script>`));
}

hashEarlyScript();
stampWorker();
for (const p of walk(dist)) {
  if (!/\.(html|js|css|svg|json|txt|webmanifest)$/.test(p)) continue;
  const raw = readFileSync(p);
  const gz = gzipSync(raw, { level: 9 });
  if (gz.length < raw.length) writeFileSync(`${p}.gz`, gz);
}

const kb = (n) => (n / 1024).toFixed(1);
const first = firstLoad(dist);
const all = everything(dist);
console.log(`first load: ${first.files.length} files, ${kb(first.total)} KiB gzip (budget ${kb(BUDGET_BYTES)} KiB): ${first.files.map((f) => f.file).join(", ")}`);
console.log(`everything: ${all.files.length} files, ${kb(all.total)} KiB gzip (budget ${kb(TOTAL_BUDGET_BYTES)} KiB)`);
if (first.total > BUDGET_BYTES || all.total > TOTAL_BUDGET_BYTES) console.log("size: OVER BUDGET");
