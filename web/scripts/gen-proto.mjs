// Generates src/gen/cercle_pb.ts from ../proto/cercle.proto with protoc (Debian's protobuf-compiler)
// and protoc-gen-es (npm). Runs before every build and test, so the client always matches the proto.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const protoDir = join(web, "..", "proto");
const proto = join(protoDir, "cercle.proto");
const out = join(web, "src", "gen");
const target = join(out, "cercle_pb.ts");
const plugin = join(web, "node_modules", ".bin", "protoc-gen-es");

if (existsSync(target) && statSync(target).mtimeMs >= statSync(proto).mtimeMs && !process.argv.includes("--force")) {
  process.exit(0);
}
mkdirSync(out, { recursive: true });
try {
  execFileSync("protoc", [`--plugin=protoc-gen-es=${plugin}`, `--es_out=${out}`, "--es_opt=target=ts", `-I${protoDir}`, proto], { stdio: "inherit" });
} catch (e) {
  console.error("gen-proto: protoc failed (install Debian's protobuf-compiler, and run npm ci first)");
  process.exit(1);
}
console.log(`gen-proto: ${target}`);
