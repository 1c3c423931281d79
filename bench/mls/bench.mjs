// Runs cercle-mls-bench and the same scenarios with ts-mls in one run; prints operations per
// second for both and the C++/ts-mls ratio (target: at least 5x).
//   node bench/mls/bench.mjs <path to cercle-mls-bench> [sizes=10,100,1000] [seconds=1]
import { execFileSync } from "node:child_process";
import { runTsBench } from "../../lib/mls/interop/ts_bench.mjs";

const [binary, sizesArg = "10,100,1000", secondsArg = "1"] = process.argv.slice(2);
const sizes = sizesArg.split(",").map(Number);
const seconds = Number(secondsArg);
const cpp = JSON.parse(execFileSync(binary, ["--sizes", sizesArg, "--seconds", secondsArg]).toString());
const ts = await runTsBench(sizes, seconds);

const rows = [["metric", "C++ ops/s", "ts-mls ops/s", "ratio"]];
for (const key of Object.keys(cpp)) {
  rows.push([key, cpp[key].toFixed(1), ts[key].toFixed(1), `${(cpp[key] / ts[key]).toFixed(1)}x`]);
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
for (const r of rows) console.log(r.map((cell, c) => cell.padStart(widths[c])).join("  "));
