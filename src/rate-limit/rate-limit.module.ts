import { Module } from '@nestjs/common';
import { QuotaService } from './quota.service';

/** Backend quotas (RPM, TPM) and RATE_LIMITED cool-downs; state behind the CounterStore seam. */
@Module({
  providers: [QuotaService],
  exports: [QuotaService],
})
export class RateLimitModule {}
