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
  /** Method → route URL → checks: two lookups and no allocation per request. */
  private readonly byMethod = new Map<string, Map<string, EarlyRefusal[]>>();

  /** Adds a check for a route, as Fastify names it (`/api/instances/:id`, with the global prefix). */
  add(method: string, url: string, check: EarlyRefusal): void {
    let byUrl = this.byMethod.get(method);
    if (byUrl === undefined) this.byMethod.set(method, (byUrl = new Map<string, EarlyRefusal[]>()));
    byUrl.set(url, [...(byUrl.get(url) ?? []), check]);
  }

  /** The first refusal the route's checks give the request, or undefined. O(1) for a route without checks. */
  refusalOf(request: FastifyRequest): GatewayError | undefined {
    const url = request.routeOptions.url;
    const checks = url === undefined ? undefined : this.byMethod.get(request.method)?.get(url);
    if (checks === undefined) return undefined;
    for (const check of checks) {
      const refusal = check(request);
      if (refusal !== undefined) return refusal;
    }
    return undefined;
  }
}
