/**
 * The baselines for the HTTP benchmark: a bare Fastify 5 server with one `POST /select` route.
 * Run as a child by http-bench.ts:
 *
 *   BENCH_RESPONSE_JSON='{"code":200,…}' node -r ts-node/register/transpile-only bench/http/bare-fastify.ts
 *
 * Two modes, so the gateway's throughput can be read against two floors:
 *
 * - default (the current baseline): parses the JSON body and answers a precomputed object,
 *   serialised per request as the gateway's envelope is.
 * - `BENCH_BASELINE=tight` (with `BENCH_API_KEY`): the least a real server must do for the same
 *   exchange. The body is validated against a JSON schema with the fields select-instance requires
 *   (`apiIdentifier`, `apiType`; other properties allowed, as the gateway allows them), the
 *   `api-key` header must equal BENCH_API_KEY (401 otherwise), and the answer is the response text
 *   serialised once at start and sent as a string with `content-type: application/json`.
 *
 * `BENCH_EXTRA_WORK_NS` (current mode; floor-curve.ts): the handler busy-waits that many
 * nanoseconds per request, standing for a server's own work on top of the bare route.
 *
 * Listens on 127.0.0.1 and a free port (PORT overrides) and prints `Listening on http://…`.
 */
import Fastify, { type FastifyInstance } from 'fastify';

const FALLBACK: Record<string, unknown> = {
  code: 200,
  message: 'success',
  data: {
    id: '00000000-0000-4000-8000-000000000000',
    projectId: '00000000-0000-4000-8000-000000000001',
    userId: null,
    apiIdentifier: 'model-0',
    apiType: 'MODEL',
    businessId: 'inst-0',
    routingParams: { weight: 1 },
    status: 'ACTIVE',
    metadata: null,
    selectionId: 'sel_00000000000000000000000000000000',
    strategy: 'smart',
    tier: 0,
    degraded: false,
    fallbackUsed: false,
    fallbackFrom: null,
    affinityBound: false,
  },
  timestamp: 1_700_000_000_000,
};

/**
 * The select-instance body's required fields, as the gateway's schema types them; unknown
 * properties are allowed there too, so the tight baseline validates no less than it needs to.
 */
const SELECT_BODY_SCHEMA = {
  type: 'object',
  required: ['apiIdentifier', 'apiType'],
  properties: {
    apiIdentifier: { type: 'string', minLength: 1, maxLength: 128 },
    apiType: { type: 'string', minLength: 1 },
  },
  additionalProperties: true,
} as const;

/** With the charset given, Fastify sends a string as it is, without building the header per reply. */
const JSON_TYPE = 'application/json; charset=utf-8';
const UNAUTHORIZED = JSON.stringify({ code: 401, message: 'invalid api key' });

/** The current baseline: the answer serialised per request (after `extraWorkNs` of busy-waiting). */
function current(app: FastifyInstance, response: Record<string, unknown>, extraWorkNs: bigint): void {
  app.post('/select', (request, reply) => {
    // Touch the parsed body, as a handler would.
    if (typeof request.body !== 'object' || request.body === null) return reply.code(400).send({ code: 400 });
    if (extraWorkNs > 0n) {
      const until = process.hrtime.bigint() + extraWorkNs;
      while (process.hrtime.bigint() < until);
    }
    return reply.send(response);
  });
}

/** The tight baseline: schema-validated body, the API key checked, the answer pre-serialised. */
function tight(app: FastifyInstance, answer: string, apiKey: string): void {
  app.post('/select', { schema: { body: SELECT_BODY_SCHEMA } }, (request, reply) => {
    if (request.headers['api-key'] !== apiKey) return reply.code(401).type(JSON_TYPE).send(UNAUTHORIZED);
    return reply.type(JSON_TYPE).send(answer);
  });
}

async function main(): Promise<void> {
  const raw = process.env.BENCH_RESPONSE_JSON;
  const app = Fastify({ logger: false });
  const mode = process.env.BENCH_BASELINE ?? 'current';
  if (mode !== 'current' && mode !== 'tight') throw new Error(`BENCH_BASELINE is current or tight, not ${mode}`);
  if (mode === 'tight') {
    const apiKey = process.env.BENCH_API_KEY;
    if (!apiKey) throw new Error('BENCH_BASELINE=tight needs BENCH_API_KEY');
    tight(app, raw ?? JSON.stringify(FALLBACK), apiKey);
  } else {
    const extraWorkNs = BigInt(process.env.BENCH_EXTRA_WORK_NS ?? '0');
    current(app, raw ? (JSON.parse(raw) as Record<string, unknown>) : FALLBACK, extraWorkNs);
  }
  const url = await app.listen({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' });
  process.stdout.write(`Listening on ${url}\n`);
  const close = (): void => {
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', close);
  process.once('SIGINT', close);
}

main().catch((error: unknown) => {
  process.stderr.write(`bare-fastify failed: ${String(error)}\n`);
  process.exit(1);
});
