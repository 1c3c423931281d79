// Draws the app's icons into public/icons/ (run by hand: node scripts/icons.mjs; the PNGs are
// committed). A plain ring, nothing else: an icon on a home screen or lock screen must not tell
// anyone that its owner uses a peer-support service. A minimal PNG encoder (RGBA, zlib from node).
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { deflateSync } from "node:zlib";

const out = fileURLToPath(new URL("../public/icons/", import.meta.url));
const BLUE = [0x0b, 0x53, 0x94];  // style.css --accent (light): white on it is 7.9:1.
const WHITE = [0xff, 0xff, 0xff];

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "ascii");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** A PNG of `size` x `size` RGBA pixels (rows of 4 bytes a pixel). */
function png(size, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);  // 8 bits, RGBA, deflate, no filter method, no interlace.
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);  // Filter 0.
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw, { level: 9 })), chunk("IEND", Buffer.alloc(0))]);
}

/**
 * Draws an icon: `paint(x, y)` (in units of the icon's side, 0..1) gives [r, g, b, alpha] or null;
 * each pixel averages 4 x 4 samples, so the edges are smooth.
 */
function draw(size, paint) {
  const rgba = Buffer.alloc(size * size * 4);
  const n = 4;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const sum = [0, 0, 0, 0];
      for (let j = 0; j < n; j++) {
        for (let i = 0; i < n; i++) {
          const c = paint((x + (i + 0.5) / n) / size, (y + (j + 0.5) / n) / size);
          if (!c) continue;
          for (let k = 0; k < 3; k++) sum[k] += c[k] * c[3];
          sum[3] += c[3];
        }
      }
      const o = (y * size + x) * 4;
      const alpha = sum[3] / (n * n);
      for (let k = 0; k < 3; k++) rgba[o + k] = sum[3] ? Math.round(sum[k] / sum[3]) : 0;
      rgba[o + 3] = Math.round(alpha * 255);
    }
  }
  return png(size, rgba);
}

const distance = (x, y) => Math.hypot(x - 0.5, y - 0.5);

/** "any": a blue disc with a white ring in it, on a transparent background. */
const plain = (x, y) => {
  const d = distance(x, y);
  if (d > 0.46) return null;
  return d > 0.2 && d < 0.28 ? [...WHITE, 1] : [...BLUE, 1];
};

/** "maskable": the whole square blue, the ring well inside the safe zone (a circle of radius 0.4). */
const maskable = (x, y) => {
  const d = distance(x, y);
  return d > 0.18 && d < 0.26 ? [...WHITE, 1] : [...BLUE, 1];
};

mkdirSync(out, { recursive: true });
for (const size of [192, 512]) writeFileSync(`${out}icon-${size}.png`, draw(size, plain));
writeFileSync(`${out}icon-maskable-512.png`, draw(512, maskable));
writeFileSync(`${out}apple-touch-icon.png`, draw(180, maskable));  // iOS draws its own rounded corners.
console.log(`icons written to ${out}`);
