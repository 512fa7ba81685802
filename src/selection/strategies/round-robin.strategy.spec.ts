import { FakeClock } from '../../common/clock';
import { candidates, context, mulberry32 } from '../../../test/contracts/candidates';
import { ROUND_ROBIN_MAX_SETS, RoundRobinStrategy } from './round-robin.strategy';

describe('RoundRobinStrategy', () => {
  const clock = new FakeClock();

  it('rotates perfectly within each set when two sets are interleaved', () => {
    const strategy = new RoundRobinStrategy();
    const a = candidates(4);
    const b = candidates(3);
    const random = mulberry32(7);
    const seenA: number[] = [];
    const seenB: number[] = [];
    for (let i = 0; i < 24; i++) {
      seenA.push(a.indexOf(strategy.pick(a, context({ setKey: 'A', random, clock }))));
      if (i % 2 === 0) seenB.push(b.indexOf(strategy.pick(b, context({ setKey: 'B', random, clock }))));
    }
    for (let i = 1; i < seenA.length; i++) expect(seenA[i]).toBe((seenA[i - 1] + 1) % 4);
    for (let i = 1; i < seenB.length; i++) expect(seenB[i]).toBe((seenB[i - 1] + 1) % 3);
  });

  it('is exactly fair over a stable set', () => {
    const strategy = new RoundRobinStrategy();
    const list = candidates(7);
    const counts = new Array<number>(7).fill(0);
    for (let i = 0; i < 700; i++) counts[list.indexOf(strategy.pick(list, context({ clock })))]++;
    expect(counts).toEqual(new Array<number>(7).fill(100));
  });

  it('starts a new set at a random position, not always at the first instance', () => {
    const strategy = new RoundRobinStrategy();
    const list = candidates(4);
    expect(strategy.pick(list, context({ setKey: 'x', random: () => 0.5 }))).toBe(list[2]);
    expect(strategy.pick(list, context({ setKey: 'y', random: () => 0.99 }))).toBe(list[3]);
  });

  it('wraps its position when the set shrinks', () => {
    const strategy = new RoundRobinStrategy();
    const five = candidates(5);
    const first = () => 0;
    for (let i = 0; i < 4; i++) strategy.pick(five, context({ random: first })); // next position: 4
    const two = five.slice(0, 2);
    expect(strategy.pick(two, context({ random: first }))).toBe(two[0]);
    expect(strategy.pick(two, context({ random: first }))).toBe(two[1]);
  });

  it('after a full lap, resumes at the first instance even if the set has grown since', () => {
    const strategy = new RoundRobinStrategy();
    const five = candidates(5);
    const three = five.slice(0, 3);
    const first = () => 0;
    for (let i = 0; i < 3; i++) strategy.pick(three, context({ random: first })); // one full lap: 0, 1, 2
    const next = [0, 1, 2, 3, 4].map(() => five.indexOf(strategy.pick(five, context({ random: first }))));
    expect(next).toEqual([0, 1, 2, 3, 4]);
  });

  it('after a full lap, resumes at the first instance even if the set has shrunk since', () => {
    const strategy = new RoundRobinStrategy();
    const five = candidates(5);
    const first = () => 0;
    for (let i = 0; i < 5; i++) strategy.pick(five, context({ random: first })); // one full lap: 0 … 4
    const three = five.slice(0, 3);
    expect(strategy.pick(three, context({ random: first }))).toBe(three[0]);
  });

  it(`remembers at most ${ROUND_ROBIN_MAX_SETS} sets, forgetting the oldest`, () => {
    const strategy = new RoundRobinStrategy();
    const list = candidates(3);
    const atZero = () => 0; // a set the strategy does not remember starts at index 0
    const pick = (setKey: string) => list.indexOf(strategy.pick(list, context({ setKey, random: atZero })));
    expect(pick('oldest')).toBe(0);
    for (let i = 0; i < ROUND_ROBIN_MAX_SETS; i++) pick(`set-${i}`);
    expect(strategy.trackedSets).toBe(ROUND_ROBIN_MAX_SETS);
    expect(pick(`set-${ROUND_ROBIN_MAX_SETS - 1}`)).toBe(1); // recent: still rotating
    expect(pick('oldest')).toBe(0); // forgotten: restarted
    expect(strategy.trackedSets).toBe(ROUND_ROBIN_MAX_SETS);
  });
});
