import { SetMetadata } from '@nestjs/common';

/** Metadata key under which {@link SelectionStrategy} stores a provider's strategy name. */
export const SELECTION_STRATEGY_METADATA = 'apg:selection-strategy';

/**
 * What a strategy name may look like: it travels in requests (`strategy`) and project settings
 * (`defaultStrategy`), so it is kept to a short, URL- and log-safe kebab-case word.
 */
export const STRATEGY_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;

/**
 * Marks an `@Injectable()` class as a selection strategy under `name`. The `StrategyRegistry`
 * discovers every provider carrying it at start-up, in any module of the application, so a
 * platform team adds a strategy by providing the class in its own module; no list to edit.
 *
 * The name is checked here, when the class is declared, so a typo fails on import rather than
 * at the first request that asks for it.
 *
 * @example
 * @SelectionStrategy('first-healthy')
 * @Injectable()
 * export class FirstHealthyStrategy implements SelectionStrategyHandler {
 *   pick(candidates: readonly Candidate[]): Candidate {
 *     return candidates[0];
 *   }
 * }
 */
export function SelectionStrategy(name: string): ClassDecorator {
  if (typeof name !== 'string' || !STRATEGY_NAME_PATTERN.test(name)) {
    throw new Error(
      `@SelectionStrategy(${JSON.stringify(name)}): a strategy name must match ${String(STRATEGY_NAME_PATTERN)} ` +
        '(lowercase letters, digits and dashes, at most 64 characters, not starting with a dash)',
    );
  }
  return SetMetadata(SELECTION_STRATEGY_METADATA, name);
}
