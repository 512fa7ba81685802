import { InstanceMemory } from './fail-open';
import type { SelectedInstance } from './types';

function instance(id: string, apiIdentifier: string): SelectedInstance {
  return {
    id,
    businessId: id,
    apiIdentifier,
    apiType: 'MODEL',
    endpoint: null,
    selectionId: null,
    routingParams: {},
    metadata: null,
    fallbackUsed: false,
  } as unknown as SelectedInstance;
}

describe('InstanceMemory', () => {
  it('rotates among the fresh instances of an identifier', () => {
    const memory = new InstanceMemory({ maxStaleMs: 1000 });
    const request = { apiType: 'MODEL', apiIdentifier: 'chat' };
    memory.remember(request, instance('a', 'chat'), 0);
    memory.remember(request, instance('b', 'chat'), 0);
    const chosen = [0, 1, 2, 3].map(() => memory.choose(request, new Set(), 10)?.id);
    expect(chosen).toEqual(['a', 'b', 'a', 'b']);
  });

  it('forgets an identifier whose instances all went stale, its rotation included', () => {
    const memory = new InstanceMemory({ maxStaleMs: 1000 });
    // A long-running process: a new identifier every so often, each used a while, then never again.
    for (let n = 0; n < 500; n++) {
      const request = { apiType: 'MODEL', apiIdentifier: `job-${n}` };
      memory.remember(request, instance(`i-${n}`, request.apiIdentifier), n * 10_000);
      expect(memory.choose(request, new Set(), n * 10_000)?.id).toBe(`i-${n}`);
      expect(memory.choose(request, new Set(), n * 10_000 + 5000)).toBeUndefined();
    }
    const internals = memory as unknown as { keys: Map<string, unknown>; turns: Map<string, number> };
    expect(internals.keys.size).toBe(0);
    expect(internals.turns.size).toBe(0);
  });
});
