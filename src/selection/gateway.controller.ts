import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Authenticated, CurrentPrincipal, asProject } from '../auth/auth.decorators';
import { ApiEnvelope, ApiErrors } from '../common/api-envelope.decorator';
import { Clock, InjectClock } from '../common/clock';
import { type SuccessEnvelope, success } from '../common/envelope';
import { SchemaPipe } from '../common/schema-validation';
import {
  ReportResultDto,
  ReportResultsDto,
  reportResultSchema,
  reportResultsSchema,
} from '../metrics/dto/report-result.dto';
import type { Principal } from '../tenancy/principal';
import { SelectInstanceDto, SelectedInstanceDto, selectInstanceSchema } from './dto/select-instance.dto';
import { ReportService } from './report.service';
import { SelectionService } from './selection.service';

/**
 * [compat] The hot path: which instance to call, and how the call went. Memory only. The only
 * controller without `@Enveloped()`: it builds its envelopes itself, sparing every request an
 * interceptor pipeline.
 */
@ApiTags('gateway')
@Controller('gateway')
export class GatewayController {
  constructor(
    private readonly selection: SelectionService,
    private readonly reports: ReportService,
    @InjectClock() private readonly clock: Clock,
  ) {}

  /** Chooses the instance to call for an API identifier (fallback chain, tiers, affinity, strategy). */
  @Authenticated({ scopes: ['select'] })
  @Post('select-instance')
  @HttpCode(200)
  @ApiEnvelope(SelectedInstanceDto)
  @ApiErrors(
    'VALIDATION_FAILED',
    'NO_AVAILABLE_INSTANCE',
    'NO_HEALTHY_INSTANCE',
    'FALLBACK_EXHAUSTED',
    'AFFINITY_UNAVAILABLE',
    'UNKNOWN_STRATEGY',
    'QUOTA_EXHAUSTED',
  )
  select(
    @CurrentPrincipal() principal: Principal,
    @Body(new SchemaPipe(selectInstanceSchema)) body: SelectInstanceDto,
  ): SuccessEnvelope<SelectedInstanceDto> {
    return success(this.selection.select(asProject(principal), body), this.clock.now());
  }

  /** Reports how a call to the selected instance went; closes its lease. `data` is omitted. */
  @Authenticated({ scopes: ['report'] })
  @Post('report-result')
  @HttpCode(200)
  @ApiEnvelope()
  @ApiErrors('VALIDATION_FAILED', 'INSTANCE_NOT_FOUND')
  report(
    @CurrentPrincipal() principal: Principal,
    @Body(new SchemaPipe(reportResultSchema)) body: ReportResultDto,
  ): SuccessEnvelope<never> {
    this.reports.report(asProject(principal), body);
    return success(undefined as never, this.clock.now());
  }

  /** Up to 1000 reports at once; all are checked before any is recorded. */
  @Authenticated({ scopes: ['report'] })
  @Post('report-results')
  @HttpCode(200)
  @ApiEnvelope()
  @ApiErrors('VALIDATION_FAILED', 'INSTANCE_NOT_FOUND')
  reportAll(
    @CurrentPrincipal() principal: Principal,
    @Body(new SchemaPipe(reportResultsSchema)) body: ReportResultsDto,
  ): SuccessEnvelope<never> {
    this.reports.reportAll(asProject(principal), body.results);
    return success(undefined as never, this.clock.now());
  }
}
