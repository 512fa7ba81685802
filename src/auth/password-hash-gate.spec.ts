import { GatewayError } from '../common/gateway-error';
import { defaultHashConcurrency, PasswordHashGate } from './password-hash-gate';

/** A task that finishes when told to, so a test decides when each hash ends. */
function deferred(): { task: () => Promise<string>; finish: (value: string) => void; fail: (error: Error) => void } {
  let finish!: (value: string) => void;
  let fail!: (error: Error) => void;
  const promise = new Promise<string>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  return { task: () => promise, finish, fail };
}

/** Lets the continuations of settled promises run (microtasks only: no timer). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i += 1) await Promise.resolve();
}

describe('PasswordHashGate', () => {
  it('runs at most `concurrency` tasks at once; the next waits for a slot', async () => {
    const gate = new PasswordHashGate(2, 8);
    const tasks = [deferred(), deferred(), deferred()];
    const started: number[] = [];
    const results = tasks.map((one, i) =>
      gate.run(() => {
        started.push(i);
        return one.task();
      }),
    );
    await settle();
    expect(started).toEqual([0, 1]);
    expect([gate.inFlight, gate.queued]).toEqual([2, 1]);
    tasks[1].finish('b');
    await settle();
    expect(started).toEqual([0, 1, 2]);
    tasks[0].finish('a');
    tasks[2].finish('c');
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c']);
    expect([gate.inFlight, gate.queued]).toEqual([0, 0]);
  });

  it('refuses at once with LOGIN_THROTTLED and Retry-After when the queue is full, hashing nothing', async () => {
    const gate = new PasswordHashGate(1, 2);
    const held = deferred();
    const running = [gate.run(held.task), gate.run(held.task), gate.run(held.task)];
    const extra = jest.fn(() => Promise.resolve('never'));
    const refused = await gate.run(extra).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(GatewayError);
    expect(refused).toMatchObject({ code: 'LOGIN_THROTTLED', headers: { 'Retry-After': '1' } });
    expect(extra).not.toHaveBeenCalled();
    held.finish('done');
    await Promise.all(running);
    expect(await gate.run(() => Promise.resolve('free again'))).toBe('free again');
  });

  it('frees the slot when a task fails', async () => {
    const gate = new PasswordHashGate(1, 0);
    const failing = deferred();
    const run = gate.run(failing.task);
    failing.fail(new Error('scrypt failed'));
    await expect(run).rejects.toThrow('scrypt failed');
    expect(await gate.run(() => Promise.resolve('next'))).toBe('next');
    expect(gate.inFlight).toBe(0);
  });

  it('uses half the cores, at least 1, at most 2', () => {
    expect([1, 2, 3, 4, 16].map((cores) => defaultHashConcurrency(cores))).toEqual([1, 1, 1, 2, 2]);
  });
});

describe('PasswordHashGate rate', () => {
  it('accepts `perSecond` checks a second (a second of them at once) and refuses the rest with Retry-After', async () => {
    let now = 0;
    const gate = new PasswordHashGate(2, 100, { perSecond: 5, now: () => now });
    const run = () => gate.run(() => Promise.resolve('ok'));
    for (let i = 0; i < 5; i++) await expect(run()).resolves.toBe('ok');
    const refused = await run().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(GatewayError);
    expect(refused).toMatchObject({ code: 'LOGIN_THROTTLED', details: { retryAfterMs: 200 } });
    expect((refused as GatewayError).headers).toEqual({ 'Retry-After': '1' });
    now = 200;
    await expect(run()).resolves.toBe('ok');
    await expect(run()).rejects.toMatchObject({ code: 'LOGIN_THROTTLED' });
  });

  it('is off at a rate of 0', async () => {
    const gate = new PasswordHashGate(2, 100, { perSecond: 0 });
    for (let i = 0; i < 50; i++) await expect(gate.run(() => Promise.resolve(i))).resolves.toBe(i);
  });
});
