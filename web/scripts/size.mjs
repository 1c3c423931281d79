// Download sizes (gzip, level 9) of the build in dist/.
// - firstLoad: what a first visit fetches before the page can paint: index.html, the script and
//   style sheets it names (with their modulepreload links), and every chunk those scripts import
//   statically, transitively. Chunks loaded with import() (the screens other than the contact link
//   page, the English texts, ts-mls's optional crypto) are not in it.
// - everything: every HTML, JS and CSS file of dist/ (an upper bound of all a person may fetch).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, posix, relative } from "node:path";
import { gzipSync } from "node:zlib";

export const BUDGET_BYTES = 128 * 1024;  // First load (issue 12: no larger than 128 KB gzip).
export const TOTAL_BUDGET_BYTES = 250 * 1000;  // Everything, lazy chunks included.

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

function sized(dist, file) {
  const raw = readFileSync(join(dist, file));
  return { file, raw: raw.length, gzip: gzipSync(raw, { level: 9 }).length };
}

const total = (files) => files.reduce((n, f) => n + f.gzip, 0);

/** Every HTML, JS and CSS file of dist/ (paths relative to dist, with "/"). */
export function everything(dist) {
  const files = walk(dist)
    .filter((p) => /\.(html|js|css)$/.test(p))
    .map((p) => sized(dist, relative(dist, p).split("\\").join("/")));
  return { files, total: total(files) };
}

/** Files the HTML names: <script src>, <link href> (stylesheet, modulepreload); same origin only. */
function namedByHtml(html) {
  const out = [];
  for (const m of html.matchAll(/<(?:script|link)\b[^>]*?\b(?:src|href)="\/([^"]+\.(?:js|css))"/g)) out.push(m[1]);
  return out;
}

/** Chunks a JS file imports statically (import … from "./x.js", import "./x.js", export … from). */
function staticImports(code) {
  const out = [];
  for (const m of code.matchAll(/(?:\bfrom|\bimport)\s*["'](\.{1,2}\/[^"']+\.js)["']/g)) out.push(m[1]);
  return out;
}

export function firstLoad(dist) {
  const seen = new Set(["index.html"]);
  const queue = namedByHtml(readFileSync(join(dist, "index.html"), "utf8"));
  while (queue.length) {
    const file = queue.shift();
    if (seen.has(file)) continue;
    seen.add(file);
    if (!file.endsWith(".js")) continue;
    const code = readFileSync(join(dist, file), "utf8");
    for (const rel of staticImports(code)) queue.push(posix.join(posix.dirname(file), rel));
  }
  const files = [...seen].map((f) => sized(dist, f));
  return { files, total: total(files) };
}
