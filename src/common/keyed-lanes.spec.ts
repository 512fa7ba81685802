import { KeyedLanes } from './keyed-lanes';

/** A task that finishes when told to, recording when it started. */
function gate(log: string[], name: string) {
  let open!: () => void;
  let fail!: (error: Error) => void;
  const done = new Promise<string>((resolve, reject) => {
    open = () => resolve(name);
    fail = reject;
  });
  return {
    task: () => {
      log.push(`start ${name}`);
      return done;
    },
    open,
    fail,
  };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('KeyedLanes', () => {
  it('runs the tasks of one key one at a time, in arrival order', async () => {
    const lanes = new KeyedLanes();
    const log: string[] = [];
    const a = gate(log, 'a');
    const b = gate(log, 'b');
    const first = lanes.run('p1', a.task);
    const second = lanes.run('p1', b.task);
    await flush();
    expect(log).toEqual(['start a']);
    a.open();
    await expect(first).resolves.toBe('a');
    await flush();
    expect(log).toEqual(['start a', 'start b']);
    b.open();
    await expect(second).resolves.toBe('b');
  });

  it('runs different keys concurrently', async () => {
    const lanes = new KeyedLanes();
    const log: string[] = [];
    const a = gate(log, 'a');
    const b = gate(log, 'b');
    void lanes.run('p1', a.task);
    void lanes.run('p2', b.task);
    await flush();
    expect(log).toEqual(['start a', 'start b']);
    a.open();
    b.open();
  });

  it('goes on after a failure, which only its caller sees, and forgets idle keys', async () => {
    const lanes = new KeyedLanes();
    const log: string[] = [];
    const a = gate(log, 'a');
    const b = gate(log, 'b');
    const first = lanes.run('p1', a.task);
    const second = lanes.run('p1', b.task);
    a.fail(new Error('boom'));
    await expect(first).rejects.toThrow('boom');
    b.open();
    await expect(second).resolves.toBe('b');
    await flush();
    expect(lanes.busy).toBe(0);
  });
});
