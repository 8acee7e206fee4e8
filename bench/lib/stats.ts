/** Summary statistics of a sample set (pure). Percentiles use the nearest-rank method on the sorted samples. */

export interface Stats {
  n: number;
  median: number;
  p90: number;
  p99: number;
  min: number;
  max: number;
  mean: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarize(samples: readonly number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return {
    n: s.length,
    median: s.length % 2 === 1 || s.length === 0 ? percentile(s, 50) : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2,
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    min: s[0] ?? NaN,
    max: s[s.length - 1] ?? NaN,
    mean,
  };
}

/** Throughput in MB/s (10^6 bytes per second) from bytes and milliseconds. */
export function mbPerSec(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}
