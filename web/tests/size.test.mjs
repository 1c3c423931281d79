// The first load (index.html, what it names, and their static imports; gzip) stays within 128 KiB,
// everything built within 250 KB, the contact link page needs no lazy screen, and every text file
// has the gzip twin that cercle-server serves.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { BUDGET_BYTES, TOTAL_BUDGET_BYTES, everything, firstLoad } from "../scripts/size.mjs";
import { DIST } from "./support.mjs";

const built = () => assert.ok(existsSync(join(DIST, "index.html")), "run npm run build first");

test("first load is within the 128 KiB gzip budget", () => {
  built();
  const { files, total } = firstLoad(DIST);
  assert.ok(files.some((f) => f.file.endsWith(".js")) && files.some((f) => f.file.endsWith(".css")));
  assert.ok(total <= BUDGET_BYTES, `first load is ${total} bytes gzip, over ${BUDGET_BYTES}: ${files.map((f) => f.file).join(", ")}`);
});

test("the screens a contact link's visitor does not need at first are not in the first load", () => {
  built();
  const first = firstLoad(DIST).files.map((f) => f.file);
  const lazy = everything(DIST).files.filter((f) => /\/(devices|backup|home|links|list|verify|account|conversation|i18n-en|notifications|i18n-push|push)-[\w-]+\.js$/.test(f.file));
  assert.equal(lazy.length, 12, `lazy chunks: ${lazy.map((f) => f.file).join(", ")}`);
  for (const f of lazy) assert.ok(!first.includes(f.file), `${f.file} is in the first load`);
});

test("everything built is within the 250 KB gzip budget", () => {
  built();
  const { total } = everything(DIST);
  assert.ok(total <= TOTAL_BUDGET_BYTES, `everything is ${total} bytes gzip, over ${TOTAL_BUDGET_BYTES}`);
});

test("large text files have a gzip twin", () => {
  built();
  for (const f of everything(DIST).files.filter((x) => x.raw > 1024)) {
    assert.ok(existsSync(join(DIST, `${f.file}.gz`)), `${f.file}.gz is missing`);
  }
  assert.ok(!/<script>|<script type="module">[^<]/.test(readFileSync(join(DIST, "index.html"), "utf8")), "no inline script (strict CSP)");
});
