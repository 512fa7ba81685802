import { CLIENT, type ScenarioEntry, backends } from './common';

/**
 * A healthy instance with a refused connection now and then — one or two a minute, each a single
 * call (`refusals`: every policy meets each one exactly once), a success before and after. It
 * must stay in rotation with its fair share: no ejection, no breaker transition.
 */
export const isolatedBlips: ScenarioEntry = {
  name: 'isolated-blips',
  quick: true,
  build: (mode) => {
    // Full: 2, then 1 in the two minutes; quick: 2 in 30 s.
    const [blips, end, rate] = mode === 'quick' ? [[8, 20], 30, 50] : [[18, 47, 95], 125, 100];
    return {
      name: 'isolated-blips',
      description: `3 healthy instances; i2 refuses one call at ${blips.join(', ')} s, at ${rate} calls/s for ${end} s`,
      target: 'i2 never ejected (no breaker transition); every share within ±5 points of fair over each minute',
      durationS: end,
      primary: 'chat',
      backends: backends({ prefix: 'i', count: 3, apiIdentifier: 'chat' }).map((b) =>
        b.businessId === 'i2' ? { ...b, refusals: blips.map((atS) => ({ atS, calls: 1 })) } : b,
      ),
      // One fault over the run: its failed attempts (one per blip when the instance keeps its
      // share) and whether the instance was ever taken out of rotation ("time to eject").
      faults: [{ businessId: 'i2', label: 'i2 blips', startS: 0 }],
      client: { ...CLIENT, rate },
      mainFigure: 'share-gap',
      shareWindow: 'whole-run',
    };
  },
};
