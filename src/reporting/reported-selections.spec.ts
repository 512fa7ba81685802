import { ReportedSelections } from './reported-selections';

const P = 'a'.repeat(32);
const Q = 'b'.repeat(32);
const id = (n: number) => n.toString(16).padStart(32, '0');

describe('ReportedSelections', () => {
  it('remembers a selection for at least the window, and forgets it within two', () => {
    const reported = new ReportedSelections(1000, 100);
    expect(reported.firstReport(P, id(1), 0)).toBe(true);
    expect(reported.firstReport(P, id(1), 999)).toBe(false);
    expect(reported.firstReport(P, id(1), 1000)).toBe(false); // rotated: now in the previous generation
    expect(reported.firstReport(P, id(1), 2000)).toBe(true); // rotated twice: forgotten, remembered anew
  });

  it('rotates early at the cap, so memory stays within two generations', () => {
    const reported = new ReportedSelections(60_000, 10);
    for (let n = 0; n < 1000; n++) reported.firstReport(P, id(n), 0);
    expect(reported.size).toBeLessThanOrEqual(20);
    // The last cap-worth are still remembered.
    for (let n = 990; n < 1000; n++) expect(reported.firstReport(P, id(n), 0)).toBe(false);
  });

  it("keys the gateway's ids by their random tail, and hashes any other string with its project", () => {
    const reported = new ReportedSelections();
    expect(reported.firstReport(P, id(7), 0)).toBe(true);
    expect(reported.firstReport(Q, id(7), 0)).toBe(false); // a gateway id is unguessable: one key everywhere
    expect(reported.firstReport(P, 'retry-1', 0)).toBe(true);
    expect(reported.firstReport(Q, 'retry-1', 0)).toBe(true);
    expect(reported.firstReport(P, 'retry-2', 0)).toBe(true);
    expect(reported.firstReport(P, 'retry-1', 0)).toBe(false);
    // Cluster ids differ in their first digits only when their random tails differ too.
    expect(reported.firstReport(P, `3fa28${'0'.repeat(11)}${'1'.repeat(16)}`, 0)).toBe(true);
    expect(reported.firstReport(P, `3fa28${'0'.repeat(11)}${'2'.repeat(16)}`, 0)).toBe(true);
  });
});
