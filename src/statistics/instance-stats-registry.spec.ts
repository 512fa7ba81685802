import { Test } from '@nestjs/testing';
import { InstanceStats } from './instance-stats';
import { InstanceStatsRegistry } from './instance-stats-registry';

describe('InstanceStatsRegistry', () => {
  const T0 = Date.UTC(2026, 0, 1);

  it('creates on first get and returns the same object afterwards', () => {
    const registry = new InstanceStatsRegistry();
    const first = registry.get('a');
    first.record({ at: T0, outcome: 'SUCCESS', latencyMs: 50 });
    expect(registry.get('a')).toBe(first);
    expect(registry.get('a').calls).toBe(1);
    expect(registry.get('b')).not.toBe(first);
    expect(registry.size).toBe(2);
  });

  it('peeks without creating', () => {
    const registry = new InstanceStatsRegistry();
    expect(registry.peek('a')).toBeUndefined();
    expect(registry.size).toBe(0);
    const stats = registry.get('a');
    expect(registry.peek('a')).toBe(stats);
  });

  it('removes an instance so that a later get starts from scratch', () => {
    const registry = new InstanceStatsRegistry();
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
    const registry = new SlowBackends();
    registry.get('llm-1').record({ at: T0, outcome: 'TIMEOUT', latencyMs: 1 });
    registry.get('embed-1').record({ at: T0, outcome: 'TIMEOUT', latencyMs: 1 });
    expect(registry.get('llm-1').latencyMs).toBe(120_000);
    expect(registry.get('embed-1').latencyMs).toBe(5000);
  });

  it('is a Nest provider with no dependencies', async () => {
    const moduleRef = await Test.createTestingModule({ providers: [InstanceStatsRegistry] }).compile();
    const registry = moduleRef.get(InstanceStatsRegistry);
    expect(registry.get('x')).toBeInstanceOf(InstanceStats);
  });
});
