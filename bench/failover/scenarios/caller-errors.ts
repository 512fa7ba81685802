import { CLIENT, type ScenarioEntry, backends } from './common';

/** Every backend answers 400 to every call: the callers' fault, so nothing may be ejected. */
export const callerErrors: ScenarioEntry = {
  name: 'caller-errors',
  quick: true,
  build: (mode) => {
    const [end, rate] = mode === 'quick' ? [8, 50] : [25, 100];
    const all400 = [{ fromS: 0, behaviour: { clientErrorRate: 1 } }];
    return {
      name: 'caller-errors',
      description: `every backend answers 400 to every call for ${end} s at ${rate} calls/s`,
      target: 'zero ejections',
      durationS: end,
      primary: 'chat',
      backends: backends({
        prefix: 'c',
        count: 3,
        apiIdentifier: 'chat',
        scripts: { c1: all400, c2: all400, c3: all400 },
      }),
      faults: [],
      client: { ...CLIENT, rate },
    };
  },
};
