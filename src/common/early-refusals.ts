import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { GatewayError } from './gateway-error';

/** Decides from the request line and headers alone whether to refuse before the body is read. */
export type EarlyRefusal = (request: FastifyRequest) => GatewayError | undefined;

/**
 * Refusals decided before the body is read and before Nest's pipeline runs: a login while the node's
 * password checks are spent, a registry write of a project over its write budget. A flood of such
 * requests then costs each one a route lookup and a check instead of parsing a 4 MiB body, the
 * guards and the handler — the difference between a flood taking the event loop and not. The
 * handlers check again (a key not cached yet passes here), so this is only ever a shortcut.
 *
 * @example
 * refusals.add('POST', '/api/admin/auth/login', () => gate.refusal());
 */
@Injectable()
export class EarlyRefusals {
  private readonly byRoute = new Map<string, EarlyRefusal[]>();

  /** Adds a check for a route, as Fastify names it (`/api/instances/:id`, with the global prefix). */
  add(method: string, url: string, check: EarlyRefusal): void {
    const key = `${method} ${url}`;
    this.byRoute.set(key, [...(this.byRoute.get(key) ?? []), check]);
  }

  /** The first refusal the route's checks give the request, or undefined. O(1) for a route without checks. */
  refusalOf(request: FastifyRequest): GatewayError | undefined {
    if (this.byRoute.size === 0) return undefined;
    const checks = this.byRoute.get(`${request.method} ${request.routeOptions.url}`);
    if (checks === undefined) return undefined;
    for (const check of checks) {
      const refusal = check(request);
      if (refusal !== undefined) return refusal;
    }
    return undefined;
  }
}
