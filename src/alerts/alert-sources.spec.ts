import { BREAKER_STATES } from '../circuit-breaker/breaker-transition';
import { isAlerted } from './alert-sources';

describe('which breaker transitions are alerted', () => {
  it('every change of whether the instance serves, and every operator state; not the probing steps', () => {
    const alerted = BREAKER_STATES.flatMap((from) =>
      BREAKER_STATES.filter((to) => to !== from && isAlerted({ from, to })).map((to) => `${from}→${to}`),
    );
    expect(alerted).toEqual([
      'CLOSED→OPEN',
      'CLOSED→FORCED_OPEN',
      'CLOSED→DISABLED',
      'OPEN→CLOSED',
      'OPEN→FORCED_OPEN',
      'OPEN→DISABLED',
      'HALF_OPEN→CLOSED',
      'HALF_OPEN→FORCED_OPEN',
      'HALF_OPEN→DISABLED',
      'FORCED_OPEN→CLOSED',
      'FORCED_OPEN→OPEN',
      'FORCED_OPEN→DISABLED',
      'DISABLED→CLOSED',
      'DISABLED→OPEN',
      'DISABLED→FORCED_OPEN',
    ]);
  });
});
