import FindMyWay, { type HTTPMethod } from 'find-my-way';

/**
 * A copy of the registered routes, used only to answer 405 (with `Allow`) instead of 404 when
 * a path exists under other methods. Fastify itself answers both with 404.
 */
export class RouteTable {
  private readonly router = FindMyWay({ ignoreTrailingSlash: true });
  private readonly methods = new Set<HTTPMethod>();

  add(method: string | string[], url: string): void {
    for (const one of Array.isArray(method) ? method : [method]) {
      const upper = one.toUpperCase() as HTTPMethod;
      if (upper === 'HEAD' || this.router.hasRoute(upper, url)) continue;
      this.router.on(upper, url, () => undefined);
      this.methods.add(upper);
    }
  }

  allowedMethods(path: string): string[] {
    return [...this.methods].filter((method) => this.router.find(method, path) !== null).sort();
  }
}
