/**
 * The failover benchmark's quick mode (eight compressed scenarios, about 3 minutes) against a real
 * gateway process started from src, with loose thresholds that hold run after run (the full-mode
 * acceptance targets are reported by `npm run bench:failover`, not asserted here).
 */
import { runFailoverBench } from '../bench/failover/failover-bench';
import type { FailoverReport } from '../bench/failover/report';
import type { ScenarioFigures } from '../bench/failover/metrics';
import { breakerOnly } from '../bench/failover/scenarios/breaker-only';
import { isolatedBlips } from '../bench/failover/scenarios/isolated-blips';

const lines: string[] = [];

function scenario(report: FailoverReport, name: string): ScenarioFigures {
  const found = report.scenarios.find((s) => s.name === name);
  if (!found) throw new Error(`scenario ${name} missing from the report`);
  return found;
}

/**
 * Runs a scenario's checks; when one fails, its message carries what explains the run: the
 * gateway's figures, its refused selections, the stall figures and the bench's log.
 */
function explained(s: ScenarioFigures, checks: () => void): void {
  try {
    checks();
  } catch (error) {
    const { shareWindows: _windows, ...gateway } = s.policies.gateway;
    const why = {
      gateway,
      selectErrors: s.gatewaySelectErrors,
      startDelayMaxMs: s.gatewayStartDelayMaxMs,
      stallTimeouts: s.stallTimeouts,
      sdk: s.gatewaySdk,
      finalBreakers: s.finalBreakers,
      transitions: s.breakerTransitions.length,
      wallS: s.wallS,
    };
    if (error instanceof Error) error.message += `\n\n${s.name}: ${JSON.stringify(why)}\n${lines.join('\n')}`;
    throw error;
  }
}

describe('failover benchmark, quick mode', () => {
  let report: FailoverReport;

  beforeAll(async () => {
    // runFailoverBench stops the gateway and the mock backends in `finally`, pass or fail.
    report = await runFailoverBench({ quick: true, fromSource: true, write: false, log: (m) => void lines.push(m) });
  }, 420_000);

  afterAll(() => {
    if (report === undefined) process.stderr.write(`${lines.join('\n')}\n`);
  });

  it("the SDK's callers report every attempt once, and the gateway counts each once", () => {
    for (const s of report.scenarios) {
      const sdk = s.gatewaySdk;
      expect(sdk.calls).toBeGreaterThan(0);
      expect(sdk.attempts).toBeGreaterThan(0);
      expect(sdk).toMatchObject({ reportsSent: sdk.attempts, reportsCounted: sdk.attempts, duplicates: 0, dropped: 0 });
    }
  });

  it('hard outage: few failed calls, far fewer than round-robin', () => {
    const s = scenario(report, 'hard-outage');
    explained(s, () => {
      const gateway = s.policies.gateway.faults[0];
      const roundRobin = s.policies['round-robin'].faults[0];
      expect(gateway.failedDuringFault).toBeLessThanOrEqual(30);
      expect(gateway.failedDuringFault * 4).toBeLessThan(roundRobin.failedDuringFault);
      expect(gateway.ejectAfterS).not.toBeNull();
    });
  });

  it('breaker only (round-robin): the dead instance trips during the fault and recovers through HALF_OPEN', () => {
    // What only a breaker can do: smart alone also keeps traffic off a dead instance, so the
    // hard-outage figures above cannot tell a breaker that never trips; round-robin can.
    const s = scenario(report, 'breaker-only');
    explained(s, () => {
      const [fault] = breakerOnly.build('quick').faults;
      const end = fault.endS ?? s.durationS;
      const dead = s.breakerTransitions.filter((t) => t.businessId === fault.businessId);
      const trip = dead.find((t) => t.from === 'CLOSED' && t.to === 'OPEN');
      expect(trip).toBeDefined();
      expect(trip!.atS).toBeGreaterThanOrEqual(fault.startS);
      expect(trip!.atS).toBeLessThanOrEqual(end);
      expect(s.policies.gateway.ejections).toBeGreaterThanOrEqual(1);
      // Back in service by successful probes once the backend returned, and not tripped again.
      const closing = dead.find((t) => t.from === 'HALF_OPEN' && t.to === 'CLOSED');
      expect(closing).toBeDefined();
      expect(closing!.atS).toBeGreaterThanOrEqual(end);
      expect(dead.filter((t) => t.to === 'OPEN' && t.atS > closing!.atS)).toEqual([]);
      expect(s.finalBreakers[fault.businessId]).toBe('CLOSED');
      // The healthy peers never tripped.
      expect(s.breakerTransitions.filter((t) => t.businessId !== fault.businessId)).toEqual([]);
      // Out of rotation while open: far fewer failed calls than round-robin without a breaker.
      const failed = s.policies.gateway.faults[0].failedDuringFault;
      expect(failed * 4).toBeLessThan(s.policies['round-robin'].faults[0].failedDuringFault);
    });
  });

  it('caller errors only: nothing ejected, every breaker closed', () => {
    const s = scenario(report, 'caller-errors');
    explained(s, () => {
      expect(s.policies.gateway.ejections).toBe(0);
      expect(s.policies.gateway.refusals).toBe(0);
      expect(Object.values(s.finalBreakers).every((state) => state === 'CLOSED')).toBe(true);
    });
  });

  it('429 storm: a handful of RATE_LIMITED per onset, far fewer than round-robin', () => {
    const s = scenario(report, 'rate-limit-storm');
    explained(s, () => {
      const onsets = s.policies.gateway.faults.length;
      expect(s.policies.gateway.rateLimited).toBeLessThanOrEqual(5 * onsets);
      expect(s.policies.gateway.rateLimited * 4).toBeLessThan(s.policies['round-robin'].rateLimited);
      expect(s.policies.gateway.finalSuccess).toBeGreaterThanOrEqual(99);
    });
  });

  it('isolated blips: the instance that refuses a call now and then is never tripped and keeps its share', () => {
    const s = scenario(report, 'isolated-blips');
    explained(s, () => {
      const blipping = isolatedBlips.build('quick').backends.find((b) => b.refusals?.length)!.businessId;
      // Every policy met each blip once: one refused call apiece.
      expect(s.policies.gateway.faults[0].failedDuringFault).toBeGreaterThanOrEqual(1);
      expect(
        s.breakerTransitions.filter((t) => t.businessId === blipping && t.from === 'CLOSED' && t.to === 'OPEN'),
      ).toEqual([]);
      expect(s.finalBreakers[blipping]).toBe('CLOSED');
      // Over the run (shorter than a minute: one window), within 12 points of a third.
      expect(s.policies.gateway.shareGapPts).not.toBeNull();
      expect(s.policies.gateway.shareGapPts!).toBeLessThanOrEqual(12);
    });
  });

  it('flapping: each fall costs a few calls, far fewer than round-robin and the replicas with their own breakers', () => {
    const s = scenario(report, 'flapping');
    explained(s, () => {
      const failed = (p: keyof typeof s.policies): number => s.policies[p].faults[0].failedDuringFault;
      expect(failed('gateway') * 4).toBeLessThan(failed('round-robin'));
      expect(failed('gateway')).toBeLessThan(failed('replicas-cockatiel'));
      expect(s.policies.gateway.finalSuccess).toBeGreaterThanOrEqual(99);
    });
  });

  it('provider outage: the preferred provider fails as a whole and the calls fall back to the other', () => {
    const s = scenario(report, 'provider-outage');
    explained(s, () => {
      const failed = (p: keyof typeof s.policies): number =>
        s.policies[p].faults.reduce((sum, f) => sum + f.failedDuringFault, 0);
      expect(failed('gateway') * 4).toBeLessThan(failed('reference'));
      expect(failed('gateway')).toBeLessThan(failed('replicas-cockatiel'));
      expect(s.policies.gateway.finalSuccess).toBeGreaterThanOrEqual(99);
    });
  });

  it('sequential: one call at a time over identical instances is spread near evenly', () => {
    const s = scenario(report, 'sequential');
    explained(s, () => {
      expect(s.policies.gateway.calls).toBeGreaterThan(100);
      expect(s.policies.gateway.shareGapPts).not.toBeNull();
      // Once seen at 32 points under a loaded CI run and never reproduced: say when and where.
      if (s.policies.gateway.shareGapPts! > 12) {
        process.stderr.write(`sequential, gateway shares per 5 s: ${JSON.stringify(s.shareSeries.byPolicy.gateway)}\n`);
      }
      expect(s.policies.gateway.shareGapPts!).toBeLessThanOrEqual(12);
      // The baseline it is judged against splits exactly: the figure measures the policy, not the traffic.
      expect(s.policies['round-robin'].shareGapPts!).toBeLessThanOrEqual(1);
    });
  });
});
