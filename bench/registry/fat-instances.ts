/**
 * Heap held per registered instance with fat JSON (issue #15, finding 2): boots the real gateway
 * on a fresh SQLite file, registers `--instances` instances whose `metadata` + `routingParams`
 * are ~26 KB of JSON (small keys, many objects: the worst case for a parsed form) through the
 * HTTP API in batches, and reports the heap retained per instance, then restarts on the same file
 * and reports the heap after the registry is warmed from the database. Also reports the heap once
 * every instance has been a candidate of a select (the hot path parses the JSON it reads).
 *
 *   node --expose-gc -r ts-node/register/transpile-only bench/registry/fat-instances.ts [--instances 2000]
 *
 * Prints one JSON line of figures. Needs --expose-gc (figures are retained memory after a GC).
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { createApp } from '../../src/app-setup';
import { loadConfig } from '../../src/config/app-config';
import { ApiKeysService } from '../../src/tenancy/api-keys.service';
import { RegistryIndex } from '../../src/registry/registry-index';

const KB = 1024;
const BATCH = 100;

/** ~16 KB of metadata and ~10 KB of routing parameters: 2,000 keys, distinct per instance (no shared shapes or key strings), ≤ 80 per object, depth 2. */
export function fatJson(seed: number): { metadata: Record<string, unknown>; routingParams: Record<string, unknown> } {
  const group = (prefix: string, keys: number): Record<string, number> =>
    Object.fromEntries(Array.from({ length: keys }, (_, k) => [`${prefix}${k}`, (seed + k) % 10]));
  const metadata: Record<string, unknown> = {};
  for (let g = 0; g < 15; g++) metadata[`g${g}`] = group(`${seed.toString(36).padStart(3, '0')}k${g}_`, 80);
  const routingParams: Record<string, unknown> = { weight: 1, priority: 0 };
  for (let g = 0; g < 10; g++) routingParams[`r${g}`] = group(`${seed.toString(36).padStart(3, '0')}p${g}_`, 80);
  return { metadata, routingParams };
}

function heapMb(): number {
  if (!globalThis.gc) throw new Error('run with node --expose-gc');
  // Several collections: V8 keeps the hidden classes of dead objects for a few more.
  for (let i = 0; i < 6; i++) globalThis.gc();
  return process.memoryUsage().heapUsed / (KB * KB);
}

async function boot(path: string): Promise<NestFastifyApplication> {
  return createApp(
    loadConfig({
      LOG_LEVEL: 'silent',
      LOG_PRETTY: 'false',
      DATABASE_URL: '',
      GATEWAY_SQLITE_PATH: path,
      GATEWAY_ADMIN_PASSWORD: 'bench-password-1',
      GATEWAY_THROTTLE_PER_MINUTE: '0',
    }),
  );
}

/** Registers `size` fat instances from number `from` in one batch; the time it took, ms. */
async function registerBatch(fastify: FastifyInstance, apiKey: string, from: number, size: number): Promise<number> {
  const instances = Array.from({ length: size }, (_, k) => ({
    apiIdentifier: `model-${(from + k) % 50}`,
    apiType: 'MODEL',
    businessId: `fat-${from + k}`,
    ...fatJson(from + k),
  }));
  const started = performance.now();
  const res = await fastify.inject({
    method: 'POST',
    url: '/api/instances/batch',
    headers: { 'api-key': apiKey },
    payload: { instances },
  });
  if (res.statusCode !== 200) throw new Error(res.body.slice(0, 500));
  return performance.now() - started;
}

/** A child process that boots on `path` and prints the heap (MB) once the registry is warmed. */
async function warmPhase(path: string): Promise<void> {
  const app = await boot(path);
  const heap = heapMb();
  const rss = process.memoryUsage().rss / (KB * KB);
  const size = app.get(RegistryIndex).size;
  await app.close();
  process.stdout.write(`${JSON.stringify({ heap, rss, size })}\n`);
}

function warmedHeap(path: string): { heap: number; rss: number; size: number } {
  const out = execFileSync(process.execPath, [...process.execArgv, __filename, '--warm', path], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as { heap: number; rss: number; size: number };
}

async function main(): Promise<void> {
  const warm = process.argv.indexOf('--warm');
  if (warm > 0) return warmPhase(process.argv[warm + 1]);
  const at = process.argv.indexOf('--instances');
  const count = at > 0 ? Number(process.argv[at + 1]) : 2000;
  const dir = mkdtempSync(join(tmpdir(), 'fat-instances-'));
  const path = join(dir, 'gateway.sqlite');
  try {
    const app = await boot(path);
    const fastify = app.getHttpAdapter().getInstance();
    const { secret } = await app.get(ApiKeysService).issue({ description: 'bench' });
    const project = await fastify.inject({
      method: 'POST',
      url: '/api/projects',
      payload: { name: 'fat', description: 'fat', apiKey: secret },
    });
    if (project.statusCode !== 200) throw new Error(project.body);
    const jsonBytes = Buffer.byteLength(JSON.stringify(fatJson(0)));
    const empty = warmedHeap(path);
    const before = heapMb();
    let slowestBatchMs = 0;
    // Each batch is built and sent by a function of its own: no frame of this one keeps it alive.
    for (let i = 0; i < count; i += BATCH) {
      slowestBatchMs = Math.max(slowestBatchMs, await registerBatch(fastify, secret, i, Math.min(BATCH, count - i)));
    }
    const afterWrites = heapMb();
    const held = app.get(RegistryIndex).size;
    // Every instance a candidate of a select: the hot path parses what it reads, once.
    for (let model = 0; model < 50; model++) {
      const res = await fastify.inject({
        method: 'POST',
        url: '/api/gateway/select-instance',
        headers: { 'api-key': secret },
        payload: { apiIdentifier: `model-${model}`, apiType: 'MODEL' },
      });
      if (res.statusCode !== 200) throw new Error(res.body.slice(0, 500));
    }
    const afterSelects = heapMb();
    await app.close();
    const full = warmedHeap(path);
    const perInstanceKb = ((afterWrites - before) * KB) / count;
    const perInstanceSelectedKb = ((afterSelects - before) * KB) / count;
    const perInstanceWarmKb = ((full.heap - empty.heap) * KB) / count;
    process.stdout.write(
      `${JSON.stringify({
        instances: held,
        jsonBytesPerInstance: jsonBytes,
        slowestBatchMs: Math.round(slowestBatchMs),
        heapKbPerInstanceAfterWrites: round(perInstanceKb),
        heapKbPerInstanceAfterRestart: round(perInstanceWarmKb),
        heapKbPerInstanceOnceSelected: round(perInstanceSelectedKb),
        ratioToJsonAfterWrites: round((perInstanceKb * KB) / jsonBytes),
        ratioToJsonAfterRestart: round((perInstanceWarmKb * KB) / jsonBytes),
        rssMbAfterRestart: { empty: round(empty.rss), full: round(full.rss) },
      })}\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
