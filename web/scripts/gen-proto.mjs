// Generates src/gen/cercle_pb.ts and src/gen/policy_pb.ts from ../proto/cercle.proto and
// ../proto/policy.proto with protoc (Debian's protobuf-compiler) and protoc-gen-es (npm). Runs before
// every build and test, so the client always matches the protocol.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const protoDir = join(web, "..", "proto");
const protos = ["cercle.proto", "policy.proto"];
const out = join(web, "src", "gen");
const plugin = join(web, "node_modules", ".bin", "protoc-gen-es");

const fresh = protos.every((p) => {
  const target = join(out, p.replace(/\.proto$/, "_pb.ts"));
  return existsSync(target) && statSync(target).mtimeMs >= statSync(join(protoDir, p)).mtimeMs;
});
if (fresh && !process.argv.includes("--force")) process.exit(0);
mkdirSync(out, { recursive: true });
try {
  execFileSync(
    "protoc",
    [`--plugin=protoc-gen-es=${plugin}`, `--es_out=${out}`, "--es_opt=target=ts", `-I${protoDir}`, ...protos.map((p) => join(protoDir, p))],
    { stdio: "inherit" },
  );
} catch (e) {
  console.error("gen-proto: protoc failed (install Debian's protobuf-compiler, and run npm ci first)");
  process.exit(1);
}
console.log(`gen-proto: ${protos.map((p) => p.replace(/\.proto$/, "_pb.ts")).join(", ")} in ${out}`);
