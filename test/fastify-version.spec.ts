import { AsyncResource } from 'node:async_hooks';
import { dirname } from 'node:path';

/**
 * The gateway runs Fastify 5.12 or later under Nest 11's adapter, which pins 5.11.3 (ADR 0014):
 * before 5.12, every request with a body went through `AsyncResource.bind`, whose deprecated
 * accessor (made with `util.deprecate`) kept the whole request alive through V8's scavenges, so
 * that half of what a select allocated was promoted and collected only by full GCs. These tests
 * fail if the `overrides` entry goes and npm gives the adapter its pinned copy again.
 */
describe('the Fastify the gateway runs', () => {
  const adapterDir = dirname(require.resolve('@nestjs/platform-fastify/package.json'));
  const adapterFastify = require.resolve('fastify', { paths: [adapterDir] });

  it("is one copy: the one package.json names is the one Nest's adapter loads", () => {
    expect(adapterFastify).toBe(require.resolve('fastify'));
  });

  it('parses a JSON body without AsyncResource.bind', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Fastify = require(adapterFastify) as typeof import('fastify').default;
    const app = Fastify();
    app.post('/echo', (request) => request.body);
    const bind = jest.spyOn(AsyncResource.prototype, 'bind');
    try {
      const res = await app.inject({ method: 'POST', url: '/echo', payload: { apiIdentifier: 'gpt-4o' } });
      expect(res.json()).toEqual({ apiIdentifier: 'gpt-4o' });
      expect(bind).not.toHaveBeenCalled();
    } finally {
      bind.mockRestore();
      await app.close();
    }
  });
});
