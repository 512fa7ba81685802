import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Unavailability } from '../common/unavailability';
import type { RoutingParams } from '../registry/routing-params';
import { CounterStore, InjectCounterStore } from '../state/counter-store';
import { EventBus, InjectEventBus, forgetDeletedInstances } from '../state/event-bus';
import type { QuotaSettings } from '../tenancy/project-settings';

export const DEFAULT_RATE_LIMIT_COOLDOWN_MS = 5000;
export const DEFAULT_MAX_RATE_LIMIT_COOLDOWN_MS = 60_000;
/** The rolling window of `rpmLimit` and `tpmLimit`: an exhausted limit is alerted once per window. */
const QUOTA_WINDOW_MS = 60_000;

/** Quota usage of one instance, for the health view. */
export interface QuotaSnapshot {
  readonly rpm: { readonly limit: number | null; readonly used: number };
  readonly tpm: { readonly limit: number | null; readonly used: number };
  /** Epoch ms until which a RATE_LIMITED report keeps the instance out, or null. */
  readonly coolDownUntil: number | null;
}

/**
 * Backend capacity (docs/resilience.md §3): `rpmLimit` counts decisions per rolling minute, `tpmLimit`
 * counts tokens (the caller's `estimatedTokens` reserved at decision time, corrected by the
 * reported usage), and a RATE_LIMITED report cools the instance down. An instance at a limit is
 * skipped, not failed. Counters are kept only for the limits an instance has.
 *
 * @example
 * const why = quotas.check(instance.id, params, now, 800);
 * quotas.recordDecision(instance.id, params, now, 800);
 * quotas.settleTokens(instance.id, params, { reservedAt: now, reserved: 800, used: 1200 }, later);
 */
@Injectable()
export class QuotaService implements OnModuleInit, OnModuleDestroy {
  private unsubscribe: (() => void) | undefined;
  /** Per limit, instance → until when its exhaustion was alerted (one `quota.exhausted` per window). */
  private readonly alerted = { rpm: new Map<string, number>(), tpm: new Map<string, number>() };

  constructor(
    @InjectCounterStore() private readonly counters: CounterStore,
    @InjectEventBus() private readonly events: EventBus,
  ) {}

  /** A deleted instance's counters and cool-down go with it. */
  onModuleInit(): void {
    this.unsubscribe = forgetDeletedInstances(this.events, (id) => this.forget(id));
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  /**
   * Why the instance may not be selected now for its quotas, if so. `selecting`: a selection asks
   * (the monitoring views ask too, and must not raise alerts), so an exhausted limit is alerted.
   */
  check(
    instanceId: string,
    params: RoutingParams,
    now: number,
    estimatedTokens = 0,
    selecting = false,
  ): Unavailability | undefined {
    const coolUntil = this.counters.deadline('cooldown', instanceId, now);
    if (coolUntil !== undefined) {
      return {
        kind: 'cooldown',
        reason: `cooling down after RATE_LIMITED for ${coolUntil - now} ms more`,
        retryAt: coolUntil,
      };
    }
    const { rpmLimit, tpmLimit } = params;
    if (rpmLimit !== undefined) {
      if (this.counters.total('rpm', instanceId, now) >= rpmLimit) {
        if (selecting) this.exhausted('rpm', instanceId, rpmLimit, now);
        return {
          kind: 'quota',
          reason: `rpmLimit ${rpmLimit} reached`,
          retryAt: now + this.counters.msUntilAtMost('rpm', instanceId, now, rpmLimit - 1),
        };
      }
    }
    if (tpmLimit !== undefined) {
      const used = this.counters.total('tpm', instanceId, now);
      // A request larger than the whole limit still goes through alone rather than never.
      if (used > 0 && used + estimatedTokens > tpmLimit) {
        if (selecting) this.exhausted('tpm', instanceId, tpmLimit, now);
        return {
          kind: 'quota',
          reason: `tpmLimit ${tpmLimit} reached (${Math.round(used)} used, ${estimatedTokens} wanted)`,
          retryAt: now + this.counters.msUntilAtMost('tpm', instanceId, now, Math.max(0, tpmLimit - estimatedTokens)),
        };
      }
    }
    return undefined;
  }

  /** The instance was chosen: one decision against RPM, the estimate reserved against TPM. */
  recordDecision(instanceId: string, params: RoutingParams, now: number, estimatedTokens = 0): void {
    if (params.rpmLimit !== undefined) this.counters.add('rpm', instanceId, now, 1, now);
    if (params.tpmLimit !== undefined && estimatedTokens > 0) {
      this.counters.add('tpm', instanceId, now, estimatedTokens, now);
    }
  }

  /**
   * Replaces a decision's reservation by the tokens the call really used, in the second the
   * reservation was made (so the correction leaves the window with it).
   */
  settleTokens(
    instanceId: string,
    params: RoutingParams,
    usage: { readonly reservedAt: number; readonly reserved: number; readonly used: number | undefined },
    now: number,
  ): void {
    if (params.tpmLimit === undefined || usage.used === undefined) return;
    const delta = usage.used - usage.reserved;
    if (delta !== 0) this.counters.add('tpm', instanceId, usage.reservedAt, delta, now);
  }

  /**
   * A RATE_LIMITED report: out until the backend's Retry-After (else the project's default, 5 s),
   * capped (60 s); a repeat during the cool-down extends it, never shortens it.
   */
  coolDown(instanceId: string, now: number, retryAfterMs: number | undefined, settings?: QuotaSettings): number {
    const cap = settings?.maxRateLimitCooldownMs ?? DEFAULT_MAX_RATE_LIMIT_COOLDOWN_MS;
    const wanted = retryAfterMs ?? settings?.rateLimitCooldownMs ?? DEFAULT_RATE_LIMIT_COOLDOWN_MS;
    return this.counters.extendDeadline('cooldown', instanceId, now + Math.min(cap, wanted));
  }

  snapshot(instanceId: string, params: RoutingParams, now: number): QuotaSnapshot {
    return {
      rpm: { limit: params.rpmLimit ?? null, used: this.counters.total('rpm', instanceId, now) },
      tpm: { limit: params.tpmLimit ?? null, used: Math.round(this.counters.total('tpm', instanceId, now)) },
      coolDownUntil: this.counters.deadline('cooldown', instanceId, now) ?? null,
    };
  }

  forget(instanceId: string): void {
    this.counters.forget(instanceId);
    this.alerted.rpm.delete(instanceId);
    this.alerted.tpm.delete(instanceId);
  }

  /**
   * Edge-triggered: the first refusal of an instance at a limit publishes `quota.exhausted`, the
   * refusals after it within the same rolling minute publish nothing. Only on the refusal branch,
   * and one map lookup there.
   */
  private exhausted(limit: 'rpm' | 'tpm', instanceId: string, value: number, now: number): void {
    const until = this.alerted[limit].get(instanceId);
    if (until !== undefined && now < until) return;
    this.alerted[limit].set(instanceId, now + QUOTA_WINDOW_MS);
    this.events.publish({ type: 'quota.exhausted', instanceId, limit, value, at: now });
  }
}

/**
 * A Retry-After hidden in an error message, in ms: Azure OpenAI "Please retry after 6 seconds",
 * OpenAI "Please try again in 1.5s" / "in 120ms", "Retry-After: 20". Undefined when none is found.
 */
export function retryAfterFromMessage(message: string | undefined): number | undefined {
  if (!message) return undefined;
  const match = RETRY_AFTER.exec(message.length > 2048 ? message.slice(0, 2048) : message);
  if (!match) return undefined;
  const value = Number(match[1]);
  if (!Number.isFinite(value)) return undefined;
  // Stryker disable next-line StringLiteral: a missing unit and an empty one both fall to the seconds branch below
  const unit = (match[2] ?? 's').toLowerCase();
  const ms =
    unit.startsWith('ms') || unit.startsWith('milli') ? value : unit.startsWith('m') ? value * 60_000 : value * 1000;
  return Math.round(ms);
}

const RETRY_AFTER =
  /(?:retry[ -]?after|try again (?:in|after)|retry in)\W{0,3}(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?)?\b/i;
