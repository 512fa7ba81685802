/** Clocks, memory readings and percentiles shared by the registry benchmark's phases. */

export const MB = 1024 * 1024;

export interface Latency {
  readonly p50Us: number;
  readonly p99Us: number;
  readonly maxUs: number;
}

export interface MemoryReading {
  readonly rss: number;
  readonly heapUsed: number;
}

/** Collects garbage first when --expose-gc allows, so figures show retained memory only. */
export function memoryMb(): MemoryReading {
  globalThis.gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss: rss / MB, heapUsed: heapUsed / MB };
}

export function latency(samplesNs: Float64Array): Latency {
  const sorted = samplesNs.slice().sort();
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] / 1000;
  return { p50Us: at(0.5), p99Us: at(0.99), maxUs: sorted[sorted.length - 1] / 1000 };
}

export function timeMs(work: () => void): number {
  const start = process.hrtime.bigint();
  work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export async function timeMsAsync(work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** What two back-to-back hrtime reads cost; every per-call sample includes it. */
export function timerOverheadNs(): number {
  const samples = new Float64Array(100_000);
  for (let i = 0; i < samples.length; i++) {
    const start = process.hrtime.bigint();
    samples[i] = Number(process.hrtime.bigint() - start);
  }
  return latency(samples).p50Us * 1000;
}

export function round(value: number): number {
  return Math.round(value * 100) / 100;
}

export function roundAll(latency: Latency): Latency {
  return { p50Us: round(latency.p50Us), p99Us: round(latency.p99Us), maxUs: round(latency.maxUs) };
}
