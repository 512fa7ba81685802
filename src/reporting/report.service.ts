import { Injectable, Optional } from '@nestjs/common';
import { Clock, InjectClock } from '../common/clock';
import { GatewayError } from '../common/gateway-error';
import { validationError } from '../common/validation';
import { KEPT_ERROR_MESSAGE_CHARS, KEPT_ERROR_TYPE_CHARS, type ReportResultDto } from './dto/report-result.dto';
import { InstanceStatsRegistry } from '../statistics/instance-stats-registry';
import { MinuteAggregator } from '../minute-metrics/minute-aggregator';
import { GatewayMetrics } from '../prometheus/gateway-metrics';
import type { OutcomeClass } from '../common/outcome';
import { classifyOutcome } from './outcome-classifier';
import { isUnreachable } from './unreachable';
import type { InstanceRecord } from '../registry/instance-record';
import { RegistryIndex } from '../registry/registry-index';
import type { ProjectPrincipal } from '../tenancy/principal';
import { CandidatePool } from '../protection/candidate-pool';
import { LeaseManager } from '../protection/lease-manager';
import { AdmissionControl, InjectAdmissionControl } from '../protection/admission';
import { ReportedSelections } from './reported-selections';
import { LastErrors } from './last-errors';

/** A call's time is trusted within a day back and five minutes ahead of the server's clock. */
const PLAUSIBLE_PAST_MS = 24 * 3_600_000;
const PLAUSIBLE_FUTURE_MS = 5 * 60_000;

/** A report after validation and classification, as the layers that learn from it see it. */
export interface IngestedReport {
  readonly instance: InstanceRecord;
  readonly report: ReportResultDto;
  readonly outcome: OutcomeClass;
  /** The minute it is counted in: the call's time, or the server's when implausible. */
  readonly at: number;
  readonly receivedAt: number;
}

/**
 * report-result: the instance must be the caller's (404 otherwise) and the `businessId` its own
 * (400), a selection already reported is acknowledged and not counted again, the outcome is
 * classified once, the rolling statistics learn from it, its lease closes (in cluster mode, on the node that
 * holds it: the close is relayed), the breaker, cool-downs and token quota learn from it, and it
 * is added to its minute (written behind). Memory only.
 */
@Injectable()
export class ReportService {
  constructor(
    private readonly index: RegistryIndex,
    private readonly stats: InstanceStatsRegistry,
    private readonly leases: LeaseManager,
    private readonly pool: CandidatePool,
    @InjectAdmissionControl() private readonly admission: AdmissionControl,
    private readonly minutes: MinuteAggregator,
    private readonly metrics: GatewayMetrics,
    @InjectClock() private readonly clock: Clock,
    @Optional() private readonly lastErrors?: LastErrors,
  ) {}

  private readonly reported = new ReportedSelections();

  /** The report as counted, or undefined for a second report of its selection (not counted). */
  report(project: ProjectPrincipal, report: ReportResultDto): IngestedReport | undefined {
    const instance = this.instanceOf(project, report, '');
    return this.firstReport(project, report) ? this.ingest(project, instance, report) : undefined;
  }

  /**
   * All or nothing: every instance is checked before any report is recorded. A report repeating a
   * selection reported before — or earlier in the same batch — is not counted. Returns the reports
   * counted, in order.
   */
  reportAll(project: ProjectPrincipal, reports: readonly ReportResultDto[]): IngestedReport[] {
    const instances = reports.map((report, i) => this.instanceOf(project, report, `results.${i}.`));
    const counted: IngestedReport[] = [];
    for (let i = 0; i < reports.length; i++) {
      if (this.firstReport(project, reports[i])) counted.push(this.ingest(project, instances[i], reports[i]));
    }
    return counted;
  }

  /** False when the report's selection was reported before (counted as a duplicate); true without a selectionId. */
  private firstReport(project: ProjectPrincipal, report: ReportResultDto): boolean {
    const { selectionId } = report;
    if (!selectionId || this.reported.firstReport(project.projectId, selectionId, this.clock.now())) return true;
    this.metrics.duplicateReport();
    return false;
  }

  /**
   * The report as the gateway keeps it: a raw provider body in `errorMessage` (or a long
   * `errorType`) cut to its bounded prefix, counted, so classification, logs and anything
   * downstream read at most that. The same object when nothing is cut (no allocation).
   */
  private keptOf(report: ReportResultDto): ReportResultDto {
    const { errorMessage, errorType } = report;
    const longMessage = typeof errorMessage === 'string' && errorMessage.length > KEPT_ERROR_MESSAGE_CHARS;
    const longType = typeof errorType === 'string' && errorType.length > KEPT_ERROR_TYPE_CHARS;
    if (!longMessage && !longType) return report;
    if (longMessage) this.metrics.truncated('errorMessage');
    if (longType) this.metrics.truncated('errorType');
    return {
      ...report,
      errorMessage: longMessage ? prefixOf(errorMessage, KEPT_ERROR_MESSAGE_CHARS) : errorMessage,
      errorType: longType ? prefixOf(errorType, KEPT_ERROR_TYPE_CHARS) : errorType,
    };
  }

  /**
   * The report's instance: 404 INSTANCE_NOT_FOUND when it is not one of the project's, 400
   * VALIDATION_FAILED when the report's `businessId` is not that instance's (the report would be
   * counted against another backend than the caller believes it called). `prefix` leads the field
   * names (`results.3.` in a batch).
   */
  private instanceOf(project: ProjectPrincipal, report: ReportResultDto, prefix: string): InstanceRecord {
    const { instanceId, businessId } = report;
    const instance = this.index.get(instanceId);
    if (!instance || instance.projectId !== project.projectId) {
      const field = `${prefix}instanceId`;
      throw new GatewayError('INSTANCE_NOT_FOUND', `Instance ${instanceId} not found`, {
        details: [{ field, message: `${field} is not an instance of this project` }],
      });
    }
    if (businessId !== instance.businessId) {
      const field = `${prefix}businessId`;
      throw validationError([
        { field, message: `${field} does not match the instance's businessId (${instance.businessId})` },
      ]);
    }
    return instance;
  }

  private ingest(project: ProjectPrincipal, instance: InstanceRecord, received: ReportResultDto): IngestedReport {
    const now = this.clock.now();
    const report = this.keptOf(received);
    const errorMessage = report.errorMessage ?? undefined;
    const outcome = classifyOutcome({
      success: report.success,
      errorType: report.errorType ?? undefined,
      statusCode: report.statusCode ?? undefined,
      errorMessage,
    });
    if (outcome !== 'SUCCESS')
      this.lastErrors?.record(instance.id, now, outcome, report.statusCode ?? undefined, errorMessage);
    const usage = report.usageMetrics ?? undefined;
    // One sample for the rolling window (at: arrival) and the minute metrics (receivedAt).
    const sample = {
      at: now,
      receivedAt: now,
      outcome,
      latencyMs: report.latencyMs,
      ttftMs: report.ttftMs ?? undefined,
      promptTokens: usage?.promptTokens,
      completionTokens: usage?.completionTokens,
      totalTokens: usage?.totalTokens,
      cost: usage?.cost,
    };
    this.stats.get(instance.id).record(sample);
    const at = report.callTimestamp;
    const plausible = at >= now - PLAUSIBLE_PAST_MS && at <= now + PLAUSIBLE_FUTURE_MS;
    const lease = report.selectionId
      ? this.leases.close(report.selectionId, project.projectId)
      : plausible
        ? this.leases.closeForCall(project.projectId, instance.id, at)
        : this.leases.closeOldest(project.projectId, instance.id);
    const used = usedTokens(usage);
    // Cluster mode: a lease this node does not hold is closed (and its tokens settled) by its holder.
    const relayed =
      lease === undefined
        ? this.leases.relayClose({
            projectId: project.projectId,
            instanceId: instance.id,
            selectionId: report.selectionId ?? undefined,
            callStartedAt: plausible ? at : undefined,
            usedTokens: used,
          })
        : undefined;
    const ingested: IngestedReport = { instance, report, outcome, at: plausible ? at : now, receivedAt: now };
    const candidate = this.pool.candidateFor(instance, now);
    this.admission.learn({
      candidate,
      outcome,
      unreachable: isUnreachable({
        outcome,
        statusCode: report.statusCode ?? undefined,
        errorMessage,
        errorType: report.errorType ?? undefined,
      }),
      latencyMs: report.latencyMs,
      retryAfterMs: report.retryAfterMs ?? undefined,
      errorMessage,
      usedTokens: used,
      lease,
      relayed,
      settings: project.settings,
      now,
    });
    this.metrics.report(outcome, report.latencyMs, instance.id);
    this.minutes.recordReport(
      instance.projectId,
      instance.id,
      ingested.at,
      sample,
      candidate.stats.openLeases + (lease ? 1 : 0),
      candidate.params.costPerUnit,
    );
    return ingested;
  }
}

/** The first `length` UTF-16 units of `text`, one fewer rather than half a surrogate pair. */
export function prefixOf(text: string, length: number): string {
  const last = text.charCodeAt(length - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? length - 1 : length);
}

/** Tokens the call used: the reported total, else prompt + completion when either is known. */
function usedTokens(usage: ReportResultDto['usageMetrics'] | undefined): number | undefined {
  return (
    usage?.totalTokens ??
    (usage?.promptTokens !== undefined || usage?.completionTokens !== undefined
      ? (usage.promptTokens ?? 0) + (usage.completionTokens ?? 0)
      : undefined)
  );
}
