import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { YAML11_SCHEMA, load } from 'js-yaml';
import { loadConfig } from '../src/config/app-config';

/**
 * docker-compose.yml and the Dockerfile, checked by parsing (no Docker daemon needed; where one
 * runs, `docker compose config` checks the syntax too): readiness health checks, a stop grace
 * period longer than the gateway's own shutdown deadline, start-up ordered on health, and the
 * `cluster` profile's Redis and second node.
 */
const ROOT = join(__dirname, '..');

interface Service {
  image?: string;
  build?: unknown;
  profiles?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] | string };
  stop_grace_period?: string;
  depends_on?: Record<string, { condition: string }>;
  networks?: Record<string, { aliases?: string[] } | null>;
}

// Compose files use YAML 1.1 merge keys (`<<: *gateway`).
const compose = load(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { schema: YAML11_SCHEMA }) as {
  services: Record<string, Service>;
};
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');

/** Compose durations: `30s`, `1m30s`, `500ms`. */
function durationMs(value: string): number {
  let total = 0;
  for (const [, amount, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(amount) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h'];
  }
  return total;
}

const gateways = Object.entries(compose.services).filter(([, service]) => service.build !== undefined);

describe('docker-compose.yml', () => {
  it('runs MySQL and a gateway built from the Dockerfile that points at it', () => {
    expect(compose.services.mysql.image).toMatch(/^(mysql:8|mariadb:11)/);
    expect(compose.services.mysql.profiles).toBeUndefined();
    expect(compose.services.gateway.profiles).toBeUndefined();
    expect(compose.services.gateway.build).toBe('.');
    expect(compose.services.gateway.environment?.DATABASE_URL).toMatch(/^mysql:\/\/[^@]+@mysql:3306\//);
  });

  it.each(gateways)('%s: health check on readiness, started once MySQL is healthy', (_name, service) => {
    const test = Array.isArray(service.healthcheck?.test)
      ? service.healthcheck.test.join(' ')
      : service.healthcheck?.test;
    expect(test).toContain('/api/health/ready');
    expect(test).not.toContain('/api/health/live');
    const dependsOn = Object.values(service.depends_on ?? {});
    expect(dependsOn.length).toBeGreaterThan(0);
    for (const dependency of dependsOn) expect(dependency.condition).toBe('service_healthy');
  });

  it.each(gateways)('%s: a stop grace period longer than its shutdown timeout', (_name, service) => {
    const shutdownMs = loadConfig({
      GATEWAY_SHUTDOWN_TIMEOUT_MS: service.environment?.GATEWAY_SHUTDOWN_TIMEOUT_MS,
    }).shutdownTimeoutMs;
    expect(service.stop_grace_period).toBeDefined();
    // A few seconds beyond the deadline: the timer fires, then the process still has to exit.
    expect(durationMs(service.stop_grace_period!)).toBeGreaterThanOrEqual(shutdownMs + 5000);
  });

  it('the cluster profile adds Redis and a second node in cluster mode that does not migrate', () => {
    const { redis, 'gateway-b': second } = compose.services;
    expect(redis.profiles).toEqual(['cluster']);
    expect(second.profiles).toEqual(['cluster']);
    expect(second.environment?.REDIS_URL).toBe('redis://redis:6379');
    expect(second.environment?.GATEWAY_MIGRATIONS_RUN).toBe('false');
    expect(second.environment?.GATEWAY_NODE_ID).not.toBe(compose.services.gateway.environment?.GATEWAY_NODE_ID);
    expect(second.depends_on?.redis.condition).toBe('service_healthy');
    // The first node joins when REDIS_URL is given; empty (unset) otherwise.
    expect(compose.services.gateway.environment?.REDIS_URL).toBe('${REDIS_URL:-}');
  });

  it('every upstream of docker/nginx.conf is a service or an alias of one', () => {
    const nginx = readFileSync(join(ROOT, 'docker', 'nginx.conf'), 'utf8');
    const names = new Set<string>();
    for (const [name, service] of Object.entries(compose.services)) {
      names.add(name);
      for (const network of Object.values(service.networks ?? {}))
        for (const alias of network?.aliases ?? []) names.add(alias);
    }
    const upstreams = [...nginx.matchAll(/^\s*server\s+([\w-]+):\d+/gm)].map((match) => match[1]);
    expect(upstreams.length).toBeGreaterThan(0);
    for (const upstream of upstreams) expect(names).toContain(upstream);
  });
});

describe('Dockerfile', () => {
  it('checks readiness, not liveness', () => {
    const healthcheck = /HEALTHCHECK[^\n]*\\\n[^\n]*/.exec(dockerfile)?.[0] ?? '';
    expect(healthcheck).toContain('/api/health/ready');
  });

  it("finishes its shutdown inside `docker stop`'s default 10 s", () => {
    const timeout = /GATEWAY_SHUTDOWN_TIMEOUT_MS=(\d+)/.exec(dockerfile)?.[1];
    expect(Number(timeout)).toBeLessThanOrEqual(8000);
  });

  it('runs node directly, so SIGTERM reaches the gateway', () => {
    // Exec form, `node` first (its V8 flags are held to npm start's in node-flags.spec.ts).
    expect(dockerfile).toMatch(/^CMD \["node", (?:"--[^"]+", )*"dist\/main\.js"\]$/m);
  });
});
