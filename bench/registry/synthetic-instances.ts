import { mulberry32 } from '../../test/utils/mulberry32';
import type { ApiType, InstanceRecord, InstanceStatus } from '../../src/registry/instance-record';

export interface SyntheticOptions {
  readonly projects: number;
  readonly perProject: number;
  readonly seed: number;
}

export { mulberry32 };

/** What projects register, weighted towards models as in the reference gateway's traffic. */
const CATALOGUE: readonly (readonly [string, ApiType])[] = [
  ['gpt-4o', 'MODEL'],
  ['gpt-4o-mini', 'MODEL'],
  ['claude-sonnet-4', 'MODEL'],
  ['claude-haiku-3-5', 'MODEL'],
  ['gemini-2.5-pro', 'MODEL'],
  ['gemini-2.5-flash', 'MODEL'],
  ['deepseek-v3', 'MODEL'],
  ['qwen-max', 'MODEL'],
  ['text-embedding-3-small', 'MODEL'],
  ['stripe-charges', 'PAYMENT_GATEWAY'],
  ['alipay', 'PAYMENT_GATEWAY'],
  ['twilio-sms', 'SMS_SERVICE'],
  ['sendgrid-mail', 'EMAIL_SERVICE'],
  ['fcm-push', 'NOTIFICATION_SERVICE'],
  ['s3-uploads', 'FILE_STORAGE'],
  ['imgproxy-resize', 'IMAGE_PROCESSING'],
];
const IDENTIFIERS_PER_PROJECT = 10;
const USERS_PER_PROJECT = 5;
const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-1'];
const EPOCH = Date.UTC(2025, 0, 1);

/**
 * Concatenation yields V8 rope (cons) strings, which hash and compare markedly slower than the
 * flat strings a database driver or JSON.parse produces; left as ropes, keys made first lookups
 * look about twice as slow as they will be in production.
 */
function flat(text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1');
}

function hex32(random: () => number): string {
  const bytes = Buffer.allocUnsafe(16);
  for (let i = 0; i < 4; i++) bytes.writeUInt32BE(Math.floor(random() * 4294967296), i * 4);
  return bytes.toString('hex');
}

/** Picks `count` distinct catalogue entries (partial Fisher–Yates). */
function pickIdentifiers(random: () => number, count: number): (readonly [string, ApiType])[] {
  const pool = [...CATALOGUE];
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, count);
}

/** ~10 % INACTIVE, the rest ACTIVE. */
function pickStatus(random: () => number): InstanceStatus {
  return random() < 0.1 ? 'INACTIVE' : 'ACTIVE';
}

/**
 * Deterministic, realistic registry contents: per project 10 apiIdentifiers drawn from a
 * catalogue, instances spread over them, businessIds unique across the whole set, about 20 %
 * reserved for one of 5 users (`user-<n>`), about 10 % INACTIVE. Kept apart from the benchmark
 * so the same rows can be written to a database and read back for an end-to-end warm-up figure.
 *
 * @example
 * const records = syntheticInstances({ projects: 1_000, perProject: 100, seed: 42 });
 * index.replaceAll(records);
 */
export function syntheticInstances({ projects, perProject, seed }: SyntheticOptions): InstanceRecord[] {
  const random = mulberry32(seed);
  const records: InstanceRecord[] = [];
  for (let p = 0; p < projects; p++) {
    const projectId = hex32(random);
    const identifiers = pickIdentifiers(random, Math.min(IDENTIFIERS_PER_PROJECT, CATALOGUE.length));
    for (let i = 0; i < perProject; i++) {
      const [apiIdentifier, apiType] = identifiers[Math.floor(random() * identifiers.length)];
      const region = REGIONS[Math.floor(random() * REGIONS.length)];
      const createdAt = new Date(EPOCH + (p * perProject + i) * 60_000);
      records.push({
        id: hex32(random),
        projectId,
        userId: random() < 0.2 ? `user-${Math.floor(random() * USERS_PER_PROJECT)}` : null,
        apiIdentifier,
        apiType,
        businessId: flat(`${apiIdentifier}-${region}-p${p}-${i}`),
        routingParams: { baseUrl: flat(`https://${region}.${apiIdentifier}.example.com/v1`), weight: 1 + (i % 5) },
        metadata: random() < 0.3 ? { owner: `team-${p % 7}`, tier: i % 3 } : null,
        endpoint: null,
        status: pickStatus(random),
        createdAt,
        updatedAt: createdAt,
      });
    }
  }
  return records;
}
