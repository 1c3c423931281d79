// Which entries of a conversation's log this device handled: a contiguous watermark and handled
// ranges above it, so that a delivery seen again (after a reconnect) is handled once, and an ERASED
// delivery (a whole range) never leaves the watermark waiting for the entries it replaces.
import type { ConvMeta } from "./model";

/** Whether every entry from..to was handled already. */
export function handled(meta: ConvMeta | undefined, from: number, to = from): boolean {
  if (!meta) return false;
  if (to <= meta.processed) return true;
  const start = Math.max(from, meta.processed + 1);
  return meta.above.some(([a, b]) => a <= start && to <= b);
}

/**
 * Marks entries from..to handled; the watermark `processed` moves over every contiguous handled
 * entry (an ERASED delivery covers a whole range, so nothing ever waits for the entries it replaces).
 */
export function markHandled(meta: ConvMeta, from: number, to = from): void {
  if (to <= meta.processed) return;
  const ranges = [...meta.above, [Math.max(from, meta.processed + 1), to] as [number, number]].sort((x, y) => x[0] - y[0]);
  const merged: [number, number][] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  while (merged.length && merged[0][0] <= meta.processed + 1) {
    meta.processed = Math.max(meta.processed, merged.shift()![1]);
  }
  meta.above = merged;
}
