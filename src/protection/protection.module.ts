import { Module } from '@nestjs/common';
import { CircuitBreakerModule } from '../circuit-breaker/circuit-breaker.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { RegistryModule } from '../registry/registry.module';
import { StatisticsModule } from '../statistics/statistics.module';
import { TenancyModule } from '../tenancy/tenancy.module';
import { AdminCircuitController } from './admin-circuit.controller';
import { AdmissionControl } from './admission';
import { AdmissionService } from './admission.service';
import { CandidatePool } from './candidate-pool';
import { InstanceHealthController } from './instance-health.controller';
import { InstanceHealthService } from './instance-health.service';
import { LeaseManager } from './lease-manager';
import { OperatorStateRestore } from './operator-state-restore';

/**
 * Who may be chosen now, and what a choice holds: admission (breaker, cool-down, quotas,
 * concurrency), leases, the candidate pool, an instance's health view and operators' overrides.
 */
@Module({
  imports: [TenancyModule, RegistryModule, StatisticsModule, CircuitBreakerModule, RateLimitModule],
  controllers: [InstanceHealthController, AdminCircuitController],
  providers: [
    CandidatePool,
    LeaseManager,
    AdmissionService,
    { provide: AdmissionControl, useExisting: AdmissionService },
    InstanceHealthService,
    OperatorStateRestore,
  ],
  exports: [CandidatePool, LeaseManager, AdmissionControl, InstanceHealthService],
})
export class ProtectionModule {}
