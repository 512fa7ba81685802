import { Logger } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { BUILTIN_STRATEGIES } from '../../src/selection/strategies/builtin-strategies';
import { StrategyRegistry } from '../../src/selection/strategy-registry';
import { candidates, context, mulberry32, observed, tally } from '../contracts/candidates';
import { describeStrategyContract } from '../contracts/selection-strategy.contract';
import { CanaryModule } from './canary/canary.module';
import { CanaryStrategy } from './canary/canary.strategy';

describe('a platform team’s canary strategy module', () => {
  beforeEach(() => jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  it('is found by the gateway’s registry when its module is imported next to the built-ins', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [DiscoveryModule, CanaryModule.forRoot({ share: 0.1 })],
      providers: [StrategyRegistry, ...BUILTIN_STRATEGIES],
    }).compile();
    await moduleRef.init();
    const registry = moduleRef.get(StrategyRegistry);
    expect(registry.get('canary')).toBeInstanceOf(CanaryStrategy);
    expect(registry.names()).toContain('smart');
    await moduleRef.close();
  });

  it('sends its configured share to canary instances, the rest to the others', () => {
    const strategy = new CanaryStrategy({ share: 0.1 });
    const list = candidates(10, (i) => ({ metadata: { canary: i < 2 }, stats: observed(100, 0, 200) }));
    const random = mulberry32(2);
    const counts = tally(list, 20_000, () => strategy.pick(list, context({ random })));
    const canaryShare = (counts[0] + counts[1]) / 20_000;
    expect(Math.abs(canaryShare - 0.1)).toBeLessThan(0.01);
    expect(Math.min(...counts.slice(2))).toBeGreaterThan(1_500); // stable ones share the other 90 %
  });

  it('uses every instance when a set has no canary, or only canaries', () => {
    const random = mulberry32(3);
    const onlyCanaries = candidates(3, () => ({ metadata: { canary: true } }));
    const noCanary = candidates(3);
    const neverCanary = new CanaryStrategy({ share: 0 });
    const alwaysCanary = new CanaryStrategy({ share: 1 });
    for (const count of tally(onlyCanaries, 300, () => neverCanary.pick(onlyCanaries, context({ random })))) {
      expect(count).toBeGreaterThan(50);
    }
    for (const count of tally(noCanary, 300, () => alwaysCanary.pick(noCanary, context({ random })))) {
      expect(count).toBeGreaterThan(50);
    }
  });

  it('refuses a share outside [0, 1] at start-up', () => {
    expect(() => CanaryModule.forRoot({ share: 1.5 })).toThrow(/share must be between 0 and 1/);
  });
});

describeStrategyContract('canary', () => new CanaryStrategy({ share: 0.05 }));
