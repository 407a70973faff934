/**
 * Units used in the configuration file: sizes (bytes) and durations (seconds).
 *
 * Sizes are a number of bytes, or a string with a binary unit: "512", "64KB", "1MB", "1.5GB"
 * (KB = 1024 bytes, MB = 1024 KB, GB = 1024 MB; KiB/MiB/GiB are accepted as the same).
 * Durations are a number of seconds.
 */

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/** Parses "1MB", "64 KB", "1024" into bytes; returns undefined when it is not a size. */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return undefined;
  const unit = SIZE_UNITS[m[2].toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Number(m[1]) * unit;
  if (!Number.isFinite(bytes) || !Number.isInteger(bytes)) return undefined;
  return bytes;
}

/** Formats bytes the way a person would write them in the config file ("1MB", "1000"). */
export function formatSize(bytes: number): string | number {
  for (const [unit, n] of [["GB", 1024 ** 3], ["MB", 1024 ** 2], ["KB", 1024]] as const) {
    if (bytes >= n && bytes % n === 0) return `${bytes / n}${unit}`;
  }
  return bytes;
}
