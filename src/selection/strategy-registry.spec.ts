import { Injectable, Logger, Module, Scope, type Provider, type Type } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { GatewayError } from '../common/gateway-error';
import { SelectionStrategy } from './selection-strategy.decorator';
import type { Candidate, SelectionStrategyHandler } from './selection-strategy';
import { BUILTIN_STRATEGIES } from './strategies/builtin-strategies';
import { SmartStrategy } from './strategies/smart.strategy';
import { StrategyRegistry } from './strategy-registry';

@SelectionStrategy('first')
@Injectable()
class FirstStrategy implements SelectionStrategyHandler {
  pick(candidates: readonly Candidate[]): Candidate {
    return candidates[0];
  }
}

@SelectionStrategy('first')
@Injectable()
class AnotherFirstStrategy extends FirstStrategy {}

@SelectionStrategy('no-pick')
@Injectable()
class NoPickStrategy {
  choose(): void {}
}

@SelectionStrategy('per-request')
@Injectable({ scope: Scope.REQUEST })
class PerRequestStrategy extends FirstStrategy {}

@SelectionStrategy('transient')
@Injectable({ scope: Scope.TRANSIENT })
class TransientStrategy extends FirstStrategy {}

@SelectionStrategy('from-factory')
class FactoryMadeStrategy extends FirstStrategy {}

@Module({ providers: [FirstStrategy] })
class PlatformModule {}

async function start(providers: Provider[], imports: Type[] = []): Promise<StrategyRegistry> {
  const moduleRef = await Test.createTestingModule({
    imports: [DiscoveryModule, ...imports],
    providers: [StrategyRegistry, ...providers],
  }).compile();
  await moduleRef.init();
  return moduleRef.get(StrategyRegistry);
}

describe('StrategyRegistry', () => {
  let warn: jest.SpyInstance;

  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it('discovers the built-ins and a strategy from another module, by name, sorted', async () => {
    const registry = await start([...BUILTIN_STRATEGIES], [PlatformModule]);
    expect(registry.names()).toEqual([
      'first',
      'least-busy',
      'least-latency',
      'lowest-cost',
      'round-robin',
      'smart',
      'success-rate',
      'weighted-random',
    ]);
    expect(registry.get('smart')).toBeInstanceOf(SmartStrategy);
    expect(registry.get('first')).toBeInstanceOf(FirstStrategy);
    expect(registry.get('nope')).toBeUndefined();
  });

  it('finds strategies provided by a factory or a value, and ignores an alias of one', async () => {
    const registry = await start([
      { provide: 'made', useFactory: () => new FactoryMadeStrategy() },
      { provide: 'given', useValue: new SmartStrategy() },
      { provide: 'alias', useExisting: 'given' },
    ]);
    expect(registry.names()).toEqual(['from-factory', 'smart']);
  });

  it('rejects two providers under one name at start-up, naming both', async () => {
    await expect(start([FirstStrategy, AnotherFirstStrategy])).rejects.toThrow(
      /"first" is declared twice: by FirstStrategy .* and by AnotherFirstStrategy/,
    );
  });

  it('rejects a decorated provider without a pick method', async () => {
    await expect(start([NoPickStrategy])).rejects.toThrow(/"no-pick" \(NoPickStrategy.*\) has no pick/);
  });

  it('skips request- and transient-scoped strategies with a warning', async () => {
    const registry = await start([FirstStrategy, PerRequestStrategy, TransientStrategy]);
    expect(registry.names()).toEqual(['first']);
    const warnings = warn.mock.calls.map(([message]) => String(message));
    expect(warnings).toEqual([
      expect.stringContaining('Skipping selection strategy "per-request"'),
      expect.stringContaining('Skipping selection strategy "transient"'),
    ]);
  });

  it('require() returns a known strategy and throws UNKNOWN_STRATEGY, listing the known ones, otherwise', async () => {
    const registry = await start([FirstStrategy, SmartStrategy]);
    expect(registry.require('first')).toBe(registry.get('first'));
    let thrown: unknown;
    try {
      registry.require('nope');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(GatewayError);
    expect(thrown).toMatchObject({
      code: 'UNKNOWN_STRATEGY',
      details: { strategy: 'nope', available: ['first', 'smart'] },
    });
  });

  it('hands out a copy of its names', async () => {
    const registry = await start([FirstStrategy]);
    registry.names().push('tampered');
    expect(registry.names()).toEqual(['first']);
  });
});

describe('@SelectionStrategy()', () => {
  it.each(['Smart', '-lead', '', 'a_b', 'a b', 'x'.repeat(65), 'ünïcode'])(
    'rejects the name %j when declared',
    (name) => {
      expect(() => SelectionStrategy(name)).toThrow(/strategy name must match/);
    },
  );

  it.each(['a', '0', 'least-latency', 'x'.repeat(64), 'canary-2'])('accepts the name %j', (name) => {
    expect(() => SelectionStrategy(name)).not.toThrow();
  });
});
