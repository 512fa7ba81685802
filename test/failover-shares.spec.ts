/**
 * The failover benchmark's share figures (bench/failover/metrics.ts) and the report's verdict,
 * on synthetic calls: fair shares by weight and tier, the windows the shares are judged over, the
 * largest gap, and the figure each scenario ranks the policies by.
 */
import { fairShares, mainFigureKind, policyFigures, type ScenarioFigures } from '../bench/failover/metrics';
import { verdict } from '../bench/failover/report';
import { CLIENT, backends, during } from '../bench/failover/scenarios/common';
import type { CallRecord, Scenario } from '../bench/failover/types';

function scenario(extra: Partial<Scenario> = {}): Scenario {
  return {
    name: 'synthetic',
    description: 'synthetic',
    durationS: 125,
    primary: 'chat',
    backends: backends({ prefix: 'a', count: 3, apiIdentifier: 'chat' }),
    faults: [],
    client: CLIENT,
    ...extra,
  };
}

/** One ok call every 50 ms from `fromS` to `toS`, to the backend `pick(k)` names. */
function calls(fromS: number, toS: number, pick: (k: number) => string): CallRecord[] {
  return Array.from({ length: (toS - fromS) * 20 }, (_, k) => {
    const atMs = fromS * 1000 + k * 50;
    return { atMs, refusals: 0, attempts: [{ businessId: pick(k), atMs, durationMs: 20, outcome: 'ok' as const }] };
  });
}

const rotate = (k: number): string => `a${(k % 3) + 1}`;

describe('failover share figures', () => {
  it('fair shares: weight-proportional over the primary identifier’s best tier, 0 elsewhere', () => {
    const weighted = scenario({
      backends: [
        ...[1, 2, 3].map((weight) => ({
          businessId: `w${weight}`,
          apiIdentifier: 'chat',
          routingParams: { weight },
          script: [],
        })),
        { businessId: 'low', apiIdentifier: 'chat', routingParams: { priority: -1 }, script: [] },
        { businessId: 'other', apiIdentifier: 'chat-small', script: [] },
      ],
    });
    expect(fairShares(weighted)).toEqual({ w1: 16.7, w2: 33.3, w3: 50, low: 0, other: 0 });
    expect(fairShares(scenario())).toEqual({ a1: 33.3, a2: 33.3, a3: 33.3 });
  });

  it('judges every full minute: an even first minute does not hide a piled second one', () => {
    // Even for 60 s, then 80 % on a1.
    const records = [...calls(0, 60, rotate), ...calls(60, 125, (k) => (k % 5 === 0 ? rotate(k / 5) : 'a1'))];
    const p = policyFigures(scenario(), records, undefined);
    expect(p.shareWindows.map((w) => [w.fromS, w.toS])).toEqual([
      [0, 60],
      [60, 120],
    ]);
    expect(p.shareWindows[0].shares).toEqual({ a1: 33.3, a2: 33.3, a3: 33.3 });
    expect(p.shareWindows[1].shares.a1).toBeCloseTo(86.7, 1);
    expect(p.shareGapPts).toBeCloseTo(86.7 - 33.3, 0);
    // Exact shares, not the rounded ones: a perfect rotation is 0 off.
    expect(policyFigures(scenario(), calls(0, 125, rotate), undefined).shareGapPts).toBe(0);
  });

  it('judges the fault-free part only, as one window under a minute; or the whole run when told', () => {
    const faulty = scenario({
      backends: backends({
        prefix: 'a',
        count: 3,
        apiIdentifier: 'chat',
        scripts: { a2: during(30, 60, { down: true }) },
      }),
      faults: [{ businessId: 'a2', label: 'a2 down', startS: 30, endS: 60 }],
    });
    // Even before the fault, a2 left out during it.
    const records = [...calls(0, 30, rotate), ...calls(30, 125, (k) => (k % 2 ? 'a1' : 'a3'))];
    const before = policyFigures(faulty, records, undefined);
    expect(before.shareWindows).toHaveLength(1);
    expect(before.shareWindows[0]).toMatchObject({ fromS: 0, toS: 30 });
    expect(before.shareGapPts).toBe(0);
    const whole = policyFigures({ ...faulty, shareWindow: 'whole-run' }, records, undefined);
    expect(whole.shareWindows).toHaveLength(2);
    expect(whole.shareGapPts).toBeGreaterThan(15);
    // A fault from the start leaves no fault-free part to judge.
    const atOnce = { ...faulty, faults: [{ ...faulty.faults[0], startS: 0 }] };
    expect(policyFigures(atOnce, records, undefined).shareGapPts).toBeNull();
  });

  it('ranks by the scenario’s figure: its own, p99 for a slow-only fault, failed attempts, trips', () => {
    expect(mainFigureKind(scenario({ mainFigure: 'share-gap' }))).toBe('share-gap');
    expect(mainFigureKind(scenario())).toBe('ejections');
    const slow = scenario({
      backends: backends({
        prefix: 'a',
        count: 3,
        apiIdentifier: 'chat',
        scripts: { a3: during(10, 40, { latencyMs: 200 }) },
      }),
      faults: [{ businessId: 'a3', label: 'slow', startS: 10, endS: 40 }],
    });
    expect(mainFigureKind(slow)).toBe('p99');
    const down = scenario({
      backends: backends({
        prefix: 'a',
        count: 3,
        apiIdentifier: 'chat',
        scripts: { a3: during(10, 40, { down: true }) },
      }),
      faults: [{ businessId: 'a3', label: 'down', startS: 10, endS: 40 }],
    });
    expect(mainFigureKind(down)).toBe('failed-during-faults');
  });

  it('the verdict names the best non-oracle policy and where the gateway stands', () => {
    const figures = (values: Record<string, number | null>, best: string[]): ScenarioFigures =>
      ({
        main: { kind: 'share-gap', label: 'largest share gap over a minute, pts', values, best },
      }) as unknown as ScenarioFigures;
    expect(verdict(figures({ gateway: 1.2, oracle: 0, 'round-robin': 2 }, ['gateway']))).toBe(
      'Best of the non-oracle policies by largest share gap over a minute, pts: gateway (1.2); the oracle 0 — the gateway is the best.',
    );
    expect(
      verdict(figures({ gateway: 3, oracle: 0, 'round-robin': 0.1, litellm: 0.1 }, ['round-robin', 'litellm'])),
    ).toBe(
      'Best of the non-oracle policies by largest share gap over a minute, pts: round-robin (0.1), litellm (0.1), tied; the oracle 0 — the gateway is not: 3.',
    );
  });
});
