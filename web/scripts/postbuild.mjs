// After vite build: writes a .gz twin of every text file (cercle-server serves it with
// Content-Encoding: gzip) and prints the first-load size against the budget.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
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
