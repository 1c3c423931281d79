// First-load size: gzip sizes of every HTML, JS and CSS file in dist/ (every chunk counted, even the
// ones loaded later, so the number is an upper bound of what a first visit downloads).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";

export const BUDGET_BYTES = 250 * 1000;

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

export function firstLoad(dist) {
  const files = walk(dist)
    .filter((p) => /\.(html|js|css)$/.test(p))
    .map((p) => {
      const raw = readFileSync(p);
      return { file: relative(dist, p), raw: raw.length, gzip: gzipSync(raw, { level: 9 }).length };
    });
  return { files, total: files.reduce((n, f) => n + f.gzip, 0) };
}
