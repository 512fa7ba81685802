import type { Candidate, SelectionStrategyHandler } from '../../src/selection/selection-strategy';
import {
  type CandidateSpec,
  candidate,
  candidates,
  context,
  deepFreeze,
  mulberry32,
  observed,
  tally,
} from './candidates';

/**
 * The behaviour every selection strategy owes the gateway, ours or a platform team's. Run it from
 * a spec next to the strategy:
 *
 * @example
 * describeStrategyContract('canary', () => new CanaryStrategy(new SmartStrategy()));
 *
 * `factory` must return a fresh strategy on each call (state such as round-robin positions must
 * not leak between checks). Strategies that by design always take the same one of identical
 * candidates (e.g. "first healthy") pass `{ spreadsAmongEquals: false }`.
 */
export interface StrategyContractOptions {
  /** Whether identical candidates share the traffic. Default true. */
  readonly spreadsAmongEquals?: boolean;
}

const SIZES = [1, 2, 3, 5, 17, 100];
/** The largest double below 1: a correct [0, 1) generator can return it. */
const ALMOST_ONE = 1 - 2 ** -53;

export function describeStrategyContract(
  name: string,
  factory: () => SelectionStrategyHandler,
  options: StrategyContractOptions = {},
): void {
  const hasScore = typeof factory().score === 'function';

  describe(`${name}: selection strategy contract`, () => {
    it('returns one of the given candidates, the same object, for 1 to 100 candidates', () => {
      for (const size of SIZES) {
        const strategy = factory();
        const list = varied(size, 7 * size);
        const random = mulberry32(size);
        for (let i = 0; i < 200; i++) {
          expectMember(list, strategy.pick(list, context({ setKey: `set-${i % 3}`, random })));
        }
      }
    });

    it('returns the only candidate when there is one', () => {
      const strategy = factory();
      const only = [candidate({ stats: observed(50, 50, 30_000) })];
      for (const random of [() => 0, () => ALMOST_ONE, mulberry32(3)]) {
        expect(strategy.pick(only, context({ random }))).toBe(only[0]);
      }
    });

    it('is deterministic for a fixed random sequence', () => {
      const run = (): number[] => {
        const strategy = factory();
        const list = varied(20, 11);
        const random = mulberry32(99);
        // 257 picks: not a multiple of the set size, so state shared between instances shows.
        return Array.from({ length: 257 }, (_, i) =>
          list.indexOf(strategy.pick(list, context({ setKey: `set-${i % 4}`, random }))),
        );
      };
      expect(run()).toEqual(run());
    });

    it('copes with random() at both ends of [0, 1)', () => {
      for (const value of [0, ALMOST_ONE]) {
        for (const size of SIZES) {
          const strategy = factory();
          const list = varied(size, size);
          for (let i = 0; i < 5; i++) expectMember(list, strategy.pick(list, context({ random: () => value })));
        }
      }
    });

    it('never throws on extreme stats and params, alone, mixed or all alike', () => {
      const strategy = factory();
      const random = mulberry32(5);
      const extremes = EXTREMES.map((spec) => candidate(spec));
      expectMember(extremes, strategy.pick(extremes, context({ random })));
      for (const spec of EXTREMES) {
        const alike = candidates(4, () => spec);
        expectMember(alike, strategy.pick(alike, context({ random })));
        const withNormal = [candidate(spec), candidate({ stats: observed(100, 1, 200) })];
        expectMember(withNormal, strategy.pick(withNormal, context({ random })));
      }
    });

    (hasScore ? it : it.skip)('score() is a finite number for every candidate, extreme ones included', () => {
      const strategy = factory();
      const all = [...EXTREMES.map((spec) => candidate(spec)), ...varied(50, 13)];
      for (const each of all) {
        const score = strategy.score!(each, context());
        expect(typeof score).toBe('number');
        expect(Number.isFinite(score)).toBe(true);
      }
    });

    it('does not modify the candidates or their array', () => {
      const strategy = factory();
      const list = varied(30, 17);
      const before = JSON.stringify(list);
      deepFreeze(list); // in strict mode, any write to a frozen object throws
      const random = mulberry32(4);
      for (let i = 0; i < 100; i++) strategy.pick(list, context({ setKey: `set-${i % 2}`, random }));
      if (hasScore) for (const each of list) strategy.score!(each, context());
      expect(JSON.stringify(list)).toBe(before);
    });

    it('draws randomness from context.random only, never Math.random', () => {
      const spy = jest.spyOn(Math, 'random');
      try {
        const strategy = factory();
        const list = varied(40, 23);
        const random = mulberry32(8);
        for (let i = 0; i < 200; i++) strategy.pick(list, context({ setKey: `set-${i % 5}`, random }));
        expect(spy).not.toHaveBeenCalled();
      } finally {
        spy.mockRestore();
      }
    });

    it('stays within the candidates when a set grows and shrinks under the same setKey', () => {
      const strategy = factory();
      const random = mulberry32(12);
      for (const size of [5, 3, 1, 8, 2, 100, 4]) {
        const list = varied(size, size + 1);
        for (let i = 0; i < 20; i++) expectMember(list, strategy.pick(list, context({ setKey: 'one-set', random })));
      }
    });

    if (options.spreadsAmongEquals ?? true) {
      it('shares the traffic among identical candidates: each gets at least half its fair share', () => {
        const strategy = factory();
        const list = candidates(10, () => ({ stats: observed(100, 0, 150) }));
        const random = mulberry32(21);
        const counts = tally(list, 2_000, () => strategy.pick(list, context({ random })));
        for (const count of counts) expect(count).toBeGreaterThanOrEqual(100);
      });
    }
  });
}

/** Stats and params at the edges of what the gateway can produce. */
const EXTREMES: readonly CandidateSpec[] = [
  {}, // never reported
  { stats: { latencyMs: 0 } },
  { stats: { latencyMs: 1e9, ttftMs: 1e9 } },
  { stats: { latencyMs: Number.MAX_SAFE_INTEGER } },
  { stats: observed(1_000_000, 1_000_000, 60_000) },
  { stats: observed(1_000_000, 0, 1) },
  { stats: { openLeases: 1_000_000 } },
  { stats: { slowStartFactor: 0.1 } },
  { stats: { slowStartFactor: 0 } },
  { routingParams: { weight: 0 } },
  { routingParams: { weight: 1e9 } },
  { routingParams: { costPerUnit: 0 } },
  { routingParams: { cost_per_unit: 1e12 } },
  { routingParams: { priority: -1000, weight: 0, costPerUnit: 1e12 }, stats: { openLeases: 1e6, latencyMs: 1e9 } },
];

/** `size` candidates with stats and params spread over realistic ranges, seeded. */
function varied(size: number, seed: number): Candidate[] {
  const random = mulberry32(seed);
  const between = (low: number, high: number): number => Math.floor(low + random() * (high - low + 1));
  return candidates(size, () => {
    const calls = between(0, 500);
    return {
      stats: {
        ...observed(calls, Math.floor(calls * random() * random()), 5 + random() * 3000),
        openLeases: between(0, 20),
        slowStartFactor: random() < 0.2 ? 0.1 + random() * 0.9 : 1,
      },
      routingParams: {
        ...(random() < 0.7 ? { weight: between(0, 10) } : {}),
        ...(random() < 0.6 ? { costPerUnit: between(0, 5) / 1000 } : {}),
      },
    };
  });
}

function expectMember(list: readonly Candidate[], picked: Candidate): void {
  // toContain compares with ===: an equal-looking copy would not do, callers key on identity.
  expect(list).toContain(picked);
}
