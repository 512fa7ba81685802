import { Inject } from '@nestjs/common';

/** How the canary strategy splits traffic. */
export interface CanaryOptions {
  /** Share of requests, in [0, 1], sent to canary instances when the set has both kinds. */
  readonly share: number;
}

/**
 * Injection token of {@link CanaryOptions}.
 *
 * @example
 * constructor(@InjectCanaryOptions() private readonly options: CanaryOptions) {}
 */
export const CanaryOptions = Symbol('CanaryOptions');

export const InjectCanaryOptions = (): ParameterDecorator => Inject(CanaryOptions);

export const DEFAULT_CANARY_OPTIONS: CanaryOptions = { share: 0.05 };
