import { KeyedLanes, LaneFullError } from './keyed-lanes';

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

describe('KeyedLanes with a bound on waiting tasks', () => {
  const batch = { kind: 'batch', maxWaiting: 2 };
  const single = { kind: 'single', maxWaiting: 3 };

  it('refuses a task at once when its kind already has maxWaiting waiting; the running one does not count', async () => {
    const lanes = new KeyedLanes();
    const log: string[] = [];
    const gates = ['a', 'b', 'c'].map((name) => gate(log, name));
    const running = lanes.run('p1', gates[0].task, batch);
    const queued = [lanes.run('p1', gates[1].task, batch), lanes.run('p1', gates[2].task, batch)];
    expect(lanes.waiting('p1', 'batch')).toBe(2);
    const refused = lanes.run('p1', () => Promise.resolve('d'), batch);
    await expect(refused).rejects.toBeInstanceOf(LaneFullError);
    await expect(refused).rejects.toMatchObject({ key: 'p1', kind: 'batch', waiting: 2 });
    gates.forEach((one) => one.open());
    await expect(Promise.all([running, ...queued])).resolves.toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['start a', 'start b', 'start c']);
  });

  it('counts each kind against its own bound, and other keys not at all', async () => {
    const lanes = new KeyedLanes();
    const log: string[] = [];
    const first = gate(log, 'first');
    const all = [lanes.run('p1', first.task, batch)];
    for (let i = 0; i < 2; i++) all.push(lanes.run('p1', () => Promise.resolve(`b${i}`), batch));
    for (let i = 0; i < 3; i++) all.push(lanes.run('p1', () => Promise.resolve(`s${i}`), single));
    await expect(lanes.run('p1', () => Promise.resolve('x'), single)).rejects.toBeInstanceOf(LaneFullError);
    await expect(lanes.run('p1', () => Promise.resolve('x'), batch)).rejects.toBeInstanceOf(LaneFullError);
    all.push(lanes.run('p2', () => Promise.resolve('other key'), batch));
    expect([lanes.waiting('p1', 'batch'), lanes.waiting('p1', 'single'), lanes.waiting('p2', 'batch')]).toEqual([
      2, 3, 0,
    ]);
    first.open();
    await expect(Promise.all(all)).resolves.toEqual(['first', 'b0', 'b1', 's0', 's1', 's2', 'other key']);
  });

  it('frees a place as soon as a waiter starts, whatever the outcome of the one before', async () => {
    const lanes = new KeyedLanes();
    const log: string[] = [];
    const a = gate(log, 'a');
    const b = gate(log, 'b');
    const first = lanes.run('p1', a.task, batch);
    const second = lanes.run('p1', b.task, batch);
    const third = lanes.run('p1', () => Promise.resolve('c'), batch);
    a.fail(new Error('boom'));
    await expect(first).rejects.toThrow('boom');
    await flush();
    expect(log).toEqual(['start a', 'start b']);
    expect(lanes.waiting('p1', 'batch')).toBe(1);
    const fourth = lanes.run('p1', () => Promise.resolve('d'), batch);
    expect(lanes.waiting('p1', 'batch')).toBe(2);
    b.open();
    await expect(Promise.all([second, third, fourth])).resolves.toEqual(['b', 'c', 'd']);
    await flush();
    expect([lanes.busy, lanes.waiting('p1', 'batch')]).toEqual([0, 0]);
  });
});
