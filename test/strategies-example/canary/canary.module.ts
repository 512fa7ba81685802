import { type DynamicModule, Module } from '@nestjs/common';
import { CanaryOptions, DEFAULT_CANARY_OPTIONS } from './canary-options';
import { CanaryStrategy } from './canary.strategy';

/**
 * A platform team's strategy module. Importing it next to the gateway's modules is all it takes:
 * the gateway's StrategyRegistry discovers `CanaryStrategy` by its decorator.
 *
 * @example
 * @Module({ imports: [GatewayModule, CanaryModule.forRoot({ share: 0.1 })] })
 * export class PlatformAppModule {}
 */
@Module({})
export class CanaryModule {
  static forRoot(options: Partial<CanaryOptions> = {}): DynamicModule {
    const resolved = { ...DEFAULT_CANARY_OPTIONS, ...options };
    // Checked here so that a bad share fails the deploy, not a request.
    if (!(resolved.share >= 0 && resolved.share <= 1)) {
      throw new Error(`CanaryModule: share must be between 0 and 1, got ${resolved.share}`);
    }
    return {
      module: CanaryModule,
      providers: [{ provide: CanaryOptions, useValue: resolved }, CanaryStrategy],
    };
  }
}
