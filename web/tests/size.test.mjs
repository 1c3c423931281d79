// The first load (HTML, JS and CSS of dist/, gzip) stays under 250 KB, and every text file has the
// gzip twin that cercle-server serves.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { BUDGET_BYTES, firstLoad } from "../scripts/size.mjs";
import { DIST } from "./support.mjs";

test("first load is under the 250 KB gzip budget", () => {
  assert.ok(existsSync(join(DIST, "index.html")), "run npm run build first");
  const { files, total } = firstLoad(DIST);
  assert.ok(files.some((f) => f.file.endsWith(".js")) && files.some((f) => f.file.endsWith(".css")));
  assert.ok(total <= BUDGET_BYTES, `first load is ${total} bytes gzip, over ${BUDGET_BYTES}`);
});

test("large text files have a gzip twin", () => {
  for (const f of firstLoad(DIST).files.filter((x) => x.raw > 1024)) {
    assert.ok(existsSync(join(DIST, `${f.file}.gz`)), `${f.file}.gz is missing`);
  }
});
