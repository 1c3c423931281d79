// After vite build: writes a .gz twin of every text file (cercle-server serves it with
// Content-Encoding: gzip) and prints the first-load size against the budget.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { BUDGET_BYTES, firstLoad } from "./size.mjs";

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

const { files, total } = firstLoad(dist);
const kb = (n) => (n / 1000).toFixed(1);
console.log(`first load: ${files.length} files, ${kb(total)} KB gzip (budget ${kb(BUDGET_BYTES)} KB)`);
if (total > BUDGET_BYTES) console.log("first load: OVER BUDGET");
