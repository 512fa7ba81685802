import { Reflector } from '@nestjs/core';
import type { Type } from '@nestjs/common';
import { SELECTION_STRATEGY_METADATA } from '../../src/selection/selection-strategy.decorator';
import type { SelectionStrategyHandler } from '../../src/selection/selection-strategy';
import { BUILTIN_STRATEGIES } from '../../src/selection/strategies/builtin-strategies';
import { LowestCostStrategy } from '../../src/selection/strategies/lowest-cost.strategy';
import { SmartStrategy } from '../../src/selection/strategies/smart.strategy';
import { describeStrategyContract } from './selection-strategy.contract';

/** Built-ins whose constructor needs arguments; the rest are built with `new Type()`. */
const FACTORIES = new Map<Type<SelectionStrategyHandler>, () => SelectionStrategyHandler>([
  [LowestCostStrategy, () => new LowestCostStrategy(new SmartStrategy())],
]);

const reflector = new Reflector();

describe('built-in selection strategies', () => {
  it('are the seven of docs/resilience.md §5, each under its own name', () => {
    const names = BUILTIN_STRATEGIES.map((type) => reflector.get<string>(SELECTION_STRATEGY_METADATA, type));
    expect([...names].sort()).toEqual([
      'least-busy',
      'least-latency',
      'lowest-cost',
      'round-robin',
      'smart',
      'success-rate',
      'weighted-random',
    ]);
  });
});

for (const type of BUILTIN_STRATEGIES) {
  const name = reflector.get<string>(SELECTION_STRATEGY_METADATA, type);
  describeStrategyContract(name, FACTORIES.get(type) ?? (() => new type()));
}
