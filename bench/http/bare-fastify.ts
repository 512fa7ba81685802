/**
 * The baseline for the HTTP benchmark: a bare Fastify 5 server with one `POST /select` route that
 * parses the JSON body and answers a precomputed object, serialised per request as the gateway's
 * envelope is. Run as a child by http-bench.ts:
 *
 *   BENCH_RESPONSE_JSON='{"code":200,…}' node -r ts-node/register/transpile-only bench/http/bare-fastify.ts
 *
 * Listens on 127.0.0.1 and a free port (PORT overrides) and prints `Listening on http://…`.
 */
import Fastify from 'fastify';

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

async function main(): Promise<void> {
  const raw = process.env.BENCH_RESPONSE_JSON;
  const response = raw ? (JSON.parse(raw) as Record<string, unknown>) : FALLBACK;
  const app = Fastify({ logger: false });
  app.post('/select', (request, reply) => {
    // Touch the parsed body, as a handler would.
    if (typeof request.body !== 'object' || request.body === null) return reply.code(400).send({ code: 400 });
    return reply.send(response);
  });
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
