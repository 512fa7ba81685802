/**
 * Preload module (`node -r alloc-probe.js …`) that counts the bytes the V8 heap allocated in the
 * process it runs in, so the HTTP benchmark can report heap bytes per response for the gateway and
 * the bare Fastify baselines without touching the gateway's source.
 *
 * V8 does not expose an allocation counter, but every GC reports the used heap before and after it
 * (`v8.GCProfiler`, Node ≥ 19.6): between two GCs the used heap only grows by what was allocated, so
 *
 *   allocated = Σ (used before each GC − used after the previous one) + (used now − used after the last GC)
 *
 * On each SIGUSR2 the probe folds the GCs seen since the previous signal into a running total,
 * restarts the profiler (its statistics would otherwise pile up for the whole run) and prints one
 * line to stderr: `[alloc-probe] {"mark":3,"allocatedBytes":123456}`. `mark` counts the signals, so
 * the bench can tell the answer to its signal from an older line. The bench differences two totals
 * around a load and divides by the responses.
 *
 * The bench does not load this file as is: children.ts transpiles it to plain JavaScript in the
 * run's temporary directory, so `node dist/main.js` needs no ts-node for it. It must therefore
 * import nothing but Node's own modules.
 */
import { GCProfiler, getHeapStatistics } from 'node:v8';

const profiler = new GCProfiler();
let allocatedBytes = 0;
let usedAfterLast = getHeapStatistics().used_heap_size;
let mark = 0;
profiler.start();

/** Adds what was allocated since the previous fold to the total; leaves the profiler running again. */
function fold(): void {
  const { statistics } = profiler.stop();
  for (const gc of statistics) {
    allocatedBytes += gc.beforeGC.heapStatistics.usedHeapSize - usedAfterLast;
    usedAfterLast = gc.afterGC.heapStatistics.usedHeapSize;
  }
  // Read after stop() (its result is counted, a few bytes per GC) and before start(): a GC in
  // between would be missed by both intervals, so nothing allocates here but the number itself.
  const usedNow = getHeapStatistics().used_heap_size;
  allocatedBytes += usedNow - usedAfterLast;
  usedAfterLast = usedNow;
  profiler.start();
}

process.on('SIGUSR2', () => {
  fold();
  mark += 1;
  process.stderr.write(`[alloc-probe] ${JSON.stringify({ mark, allocatedBytes })}\n`);
});
