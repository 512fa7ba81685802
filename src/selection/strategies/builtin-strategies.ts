import type { Type } from '@nestjs/common';
import type { SelectionStrategyHandler } from '../selection-strategy';
import { LeastBusyStrategy } from './least-busy.strategy';
import { LeastLatencyStrategy } from './least-latency.strategy';
import { LowestCostStrategy } from './lowest-cost.strategy';
import { RoundRobinStrategy } from './round-robin.strategy';
import { SmartStrategy } from './smart.strategy';
import { SuccessRateStrategy } from './success-rate.strategy';
import { WeightedRandomStrategy } from './weighted-random.strategy';

/**
 * The gateway's own strategies, for the selection module's `providers`. The registry does not
 * read this list (it discovers providers by their decorator); it only saves the module from
 * naming seven classes. Platform teams provide theirs in their own modules instead.
 */
export const BUILTIN_STRATEGIES: readonly Type<SelectionStrategyHandler>[] = [
  SmartStrategy,
  RoundRobinStrategy,
  WeightedRandomStrategy,
  LeastLatencyStrategy,
  SuccessRateStrategy,
  LeastBusyStrategy,
  LowestCostStrategy,
];
