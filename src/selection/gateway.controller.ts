import { Controller, HttpCode, type OnModuleInit, Post, Req } from '@nestjs/common';
import { usableApiKey } from '../auth/api-key-extraction';
import { keyMemoOf } from '../auth/gateway-auth.guard';
import { EarlyRefusals } from '../common/early-refusals';
import { ApiKeyAuthenticator } from '../tenancy/api-key-authenticator';
import { ApiBody, ApiTags } from '@nestjs/swagger';
import { Authenticated, projectOf } from '../auth/auth.decorators';
import { ApiEnvelope, ApiErrors } from '../common/api-envelope.decorator';
import { Clock, InjectClock } from '../common/clock';
import { type SuccessEnvelope, success } from '../common/envelope';
import { SchemaPipe, schemaOf } from '../common/schema-validation';
import {
  REPORT_COUNTED,
  REPORT_NOT_COUNTED,
  ReportAckDto,
  ReportResultDto,
  ReportResultsDto,
  ReportsAckDto,
} from '../reporting/dto/report-result.dto';
import type { Principal } from '../tenancy/principal';
import { SELECT_INSTANCE_EXAMPLE, SelectInstanceDto, SelectedInstanceDto } from './dto/select-instance.dto';
import { ReportService } from '../reporting/report.service';
import { SelectionService } from './selection.service';

/** The request as the hot-path handlers read it: the guard has put the principal on it. */
type GatewayRequest = { body?: unknown; user?: Principal };

/**
 * [compat] The hot path: which instance to call, and how the call went. Memory only. The only
 * controller without `@Enveloped()`: it builds its envelopes itself, sparing every request an
 * interceptor pipeline. For the same reason its handlers take the request (`@Req()`, which no pipe
 * sees) and validate the body with the compiled schema themselves: Nest's per-parameter pipe
 * chain (the global pipe, then the schema pipe, as promises) was ~4 KB of garbage per request.
 * `@ApiBody` documents what `@Body` would have, from the very schema the pipe compiles.
 */
@ApiTags('gateway')
@Controller('gateway')
export class GatewayController implements OnModuleInit {
  constructor(
    private readonly selection: SelectionService,
    private readonly reports: ReportService,
    @InjectClock() private readonly clock: Clock,
    private readonly refusals: EarlyRefusals,
    private readonly authenticator: ApiKeyAuthenticator,
  ) {}

  /**
   * A project over its budget of candidates judged is refused before its select's body is read,
   * when its key is cached (the connection's key hash is reused: no hashing on the hot path).
   */
  onModuleInit(): void {
    this.refusals.add('POST', '/api/gateway/select-instance', (request) => {
      // Nobody over budget (the usual case): nothing to look up on the hot path.
      if (!this.selection.anyBudgetSpent()) return undefined;
      const key = usableApiKey(request);
      const projectId = key === undefined ? undefined : this.authenticator.cachedProjectOf(key, keyMemoOf(request));
      return projectId === undefined ? undefined : this.selection.budgetRefusal(projectId);
    });
  }

  // The same classes as in @ApiBody: the schema each is documented from is the one compiled here.
  private readonly selectBody = new SchemaPipe<SelectInstanceDto>(schemaOf(SelectInstanceDto));
  private readonly reportBody = new SchemaPipe<ReportResultDto>(schemaOf(ReportResultDto));
  private readonly reportsBody = new SchemaPipe<ReportResultsDto>(schemaOf(ReportResultsDto));

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
    'LEASE_LIMIT_REACHED',
    'SELECTION_BUDGET_EXHAUSTED',
  )
  @ApiBody({
    type: SelectInstanceDto,
    examples: { model: { summary: 'A chat model by identifier', value: SELECT_INSTANCE_EXAMPLE } },
  })
  select(@Req() request: GatewayRequest): SuccessEnvelope<SelectedInstanceDto> {
    const project = projectOf(request);
    return success(this.selection.select(project, this.selectBody.transform(request.body)), this.clock.now());
  }

  /**
   * Reports how a call to the selected instance went; closes its lease. Idempotent per
   * `selectionId`: a selection reported again is acknowledged with `counted: false` and not counted.
   * A `businessId` that is not the instance's: 400.
   */
  @Authenticated({ scopes: ['report'] })
  @Post('report-result')
  @HttpCode(200)
  @ApiEnvelope(ReportAckDto)
  @ApiErrors('VALIDATION_FAILED', 'INSTANCE_NOT_FOUND')
  @ApiBody({ type: ReportResultDto })
  report(@Req() request: GatewayRequest): SuccessEnvelope<ReportAckDto> {
    const project = projectOf(request);
    const counted = this.reports.report(project, this.reportBody.transform(request.body)) !== undefined;
    return success(counted ? REPORT_COUNTED : REPORT_NOT_COUNTED, this.clock.now());
  }

  /**
   * Up to 1000 reports at once; all are checked before any is recorded. Repeats of a selection
   * (reported before, or earlier in the batch) are acknowledged and not counted: `data` says how many.
   */
  @Authenticated({ scopes: ['report'] })
  @Post('report-results')
  @HttpCode(200)
  @ApiEnvelope(ReportsAckDto)
  @ApiErrors('VALIDATION_FAILED', 'INSTANCE_NOT_FOUND')
  @ApiBody({ type: ReportResultsDto })
  reportAll(@Req() request: GatewayRequest): SuccessEnvelope<ReportsAckDto> {
    const project = projectOf(request);
    const { results } = this.reportsBody.transform(request.body);
    const counted = this.reports.reportAll(project, results).length;
    return success({ counted, duplicates: results.length - counted }, this.clock.now());
  }
}
