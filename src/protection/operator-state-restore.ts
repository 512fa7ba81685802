import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { BreakerEventsService } from '../circuit-breaker/breaker-events.service';
import { BreakerService } from '../circuit-breaker/breaker.service';
import { REGISTRY_LOADED } from '../registry/registry-loader';
import { RegistryIndex } from '../registry/registry-index';

/**
 * An operator's FORCED_OPEN or DISABLED must survive a restart: at start-up, once the registry
 * is loaded (`REGISTRY_LOADED`) and before the app is ready, the override in force per instance
 * is read back from `breaker_events`. Automatic states are not restored: a restarted node probes afresh.
 */
@Injectable()
export class OperatorStateRestore implements OnModuleInit {
  private readonly logger = new Logger('Breakers');

  constructor(
    private readonly events: BreakerEventsService,
    private readonly breakers: BreakerService,
    private readonly index: RegistryIndex,
    @Inject(REGISTRY_LOADED) private readonly _loaded: boolean,
  ) {}

  async onModuleInit(): Promise<void> {
    let restored = 0;
    for (const override of await this.events.operatorOverrides()) {
      const instance = this.index.get(override.instanceId);
      if (instance === undefined) continue; // deleted since
      this.breakers.restoreOperatorState(instance, override.state, override.at.getTime());
      restored++;
    }
    if (restored > 0) this.logger.log(`Restored ${restored} operator breaker override(s)`);
  }
}
