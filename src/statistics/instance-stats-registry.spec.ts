import { BreakerTransitions } from '../circuit-breaker/breaker-transition';
import { EventBus, MemoryEventBus } from '../state/event-bus';
import { Test } from '@nestjs/testing';
import { InstanceStats } from './instance-stats';
import { InstanceStatsRegistry } from './instance-stats-registry';

describe('InstanceStatsRegistry', () => {
  const T0 = Date.UTC(2026, 0, 1);

  it('creates on first get and returns the same object afterwards', () => {
    const registry = new InstanceStatsRegistry(new MemoryEventBus(), new BreakerTransitions());
    const first = registry.get('a');
    first.record({ at: T0, outcome: 'SUCCESS', latencyMs: 50 });
    expect(registry.get('a')).toBe(first);
    expect(registry.get('a').calls).toBe(1);
    expect(registry.get('b')).not.toBe(first);
    expect(registry.size).toBe(2);
  });

  it('peeks without creating', () => {
    const registry = new InstanceStatsRegistry(new MemoryEventBus(), new BreakerTransitions());
    expect(registry.peek('a')).toBeUndefined();
    expect(registry.size).toBe(0);
    const stats = registry.get('a');
    expect(registry.peek('a')).toBe(stats);
  });

  it('removes an instance so that a later get starts from scratch', () => {
    const registry = new InstanceStatsRegistry(new MemoryEventBus(), new BreakerTransitions());
    registry.get('a').record({ at: T0, outcome: 'SERVER_ERROR', latencyMs: 5 });
    expect(registry.remove('a')).toBe(true);
    expect(registry.remove('a')).toBe(false);
    expect(registry.peek('a')).toBeUndefined();
    expect(registry.get('a').calls).toBe(0);
    expect([...registry.entries()].map(([id]) => id)).toEqual(['a']);
  });

  it('lets a subclass choose per-instance options', () => {
    class SlowBackends extends InstanceStatsRegistry {
      protected override create(instanceId: string): InstanceStats {
        return new InstanceStats({ failurePenaltyMs: instanceId.startsWith('llm-') ? 120_000 : 5000 });
      }
    }
    const registry = new SlowBackends(new MemoryEventBus(), new BreakerTransitions());
    registry.get('llm-1').record({ at: T0, outcome: 'TIMEOUT', latencyMs: 1 });
    registry.get('embed-1').record({ at: T0, outcome: 'TIMEOUT', latencyMs: 1 });
    expect(registry.get('llm-1').latencyMs).toBe(120_000);
    expect(registry.get('embed-1').latencyMs).toBe(5000);
  });

  it('as a Nest provider, forgets deleted instances and ramps recovered ones up (slow start)', async () => {
    const moduleRef = await Test.createTestingModule({
      providers: [InstanceStatsRegistry, BreakerTransitions, { provide: EventBus, useClass: MemoryEventBus }],
    }).compile();
    await moduleRef.init();
    const registry = moduleRef.get(InstanceStatsRegistry);
    registry.get('x').record({ at: T0, outcome: 'SUCCESS', latencyMs: 10 });
    moduleRef.get<EventBus>(EventBus).publish({ type: 'instances.deleted', projectId: 'p', instanceIds: ['x'] });
    expect(registry.peek('x')).toBeUndefined();

    const transition = { projectId: 'p', instanceId: 'y', reason: 'probes ok', at: T0 } as const;
    moduleRef.get(BreakerTransitions).emit({ ...transition, from: 'OPEN', to: 'HALF_OPEN' });
    expect(registry.peek('y')).toBeUndefined();
    moduleRef.get(BreakerTransitions).emit({ ...transition, from: 'HALF_OPEN', to: 'CLOSED' });
    expect(registry.get('y').slowStartFactor).toBeLessThan(1);
    await moduleRef.close();
  });
});
