import { ExpiryHeap, InstanceLeases, LeaseQueue, ProjectLeases } from './lease-queues';

interface Item {
  readonly expiresAt: number;
  readonly seq: number;
  closed: boolean;
}

function items(expiries: readonly number[]): Item[] {
  return expiries.map((expiresAt, seq) => ({ expiresAt, seq, closed: false }));
}

function drain(heap: ExpiryHeap<Item>, now: number): number[] {
  const seqs: number[] = [];
  for (let item = heap.popDue(now); item !== undefined; item = heap.popDue(now)) seqs.push(item.seq);
  return seqs;
}

describe('ExpiryHeap', () => {
  it('pops due entries by expiry, then by opening order, skipping closed ones', () => {
    const heap = new ExpiryHeap<Item>();
    const all = items([30, 10, 20, 10, 40, 20]);
    all.forEach((item) => heap.push(item));
    all[2].closed = true;
    heap.noteClosed(1);
    expect(drain(heap, 25)).toEqual([1, 3, 5]);
    expect([heap.hasDue(25), heap.size]).toEqual([false, 2]);
    expect(drain(heap, 40)).toEqual([0, 4]);
  });

  it('counts a closed entry as due, so the caller still takes the slow path to discard it', () => {
    const heap = new ExpiryHeap<Item>();
    const [only] = items([5]);
    heap.push(only);
    only.closed = true;
    heap.noteClosed(1);
    expect(heap.hasDue(5)).toBe(true);
    expect([heap.popDue(5), heap.size]).toEqual([undefined, 0]);
  });

  it('purges closed entries only once they are at least 1024 and half of the heap', () => {
    const heap = new ExpiryHeap<Item>();
    const all = items(Array.from({ length: 2100 }, (_, i) => 2100 - i));
    all.forEach((item) => heap.push(item));
    all.slice(0, 1049).forEach((item) => (item.closed = true));
    heap.noteClosed(1049);
    expect(heap.size).toBe(2100);
    all[1049].closed = true;
    heap.noteClosed(1);
    expect(heap.size).toBe(1050);
    expect(drain(heap, Infinity)).toEqual(
      all
        .slice(1050)
        .map((item) => item.seq)
        .reverse(),
    );
  });

  it('pops entries due in the same millisecond in the order they were opened', () => {
    const heap = new ExpiryHeap<Item>();
    items([10, 10, 10, 10, 10, 10, 10]).forEach((item) => heap.push(item));
    expect(drain(heap, 10)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('purges as soon as exactly 1024 closed entries make up exactly half of the heap', () => {
    const heap = new ExpiryHeap<Item>();
    const all = items(Array.from({ length: 2048 }, (_, i) => i));
    all.forEach((item) => heap.push(item));
    all.slice(0, 1024).forEach((item) => (item.closed = true));
    heap.noteClosed(1024);
    expect(heap.size).toBe(1024);
  });

  it('no longer counts closed entries towards a purge once they were discarded on the way out', () => {
    const heap = new ExpiryHeap<Item>();
    const all = items([...Array.from({ length: 100 }, () => 1), ...Array.from({ length: 1900 }, () => 1000)]);
    all.forEach((item) => heap.push(item));
    all.slice(0, 100).forEach((item) => (item.closed = true));
    heap.noteClosed(100);
    expect([heap.popDue(1), heap.size]).toEqual([undefined, 1900]); // the 100 closed ones are gone
    all.slice(100, 1100).forEach((item) => (item.closed = true));
    heap.noteClosed(1000);
    expect(heap.size).toBe(1900); // 1000 closed in the heap: below 1024, no purge yet
    all.slice(1100, 1124).forEach((item) => (item.closed = true));
    heap.noteClosed(24);
    expect(heap.size).toBe(876);
  });

  it('a purge that leaves no open entry, or one, leaves a heap of exactly that size', () => {
    const empty = new ExpiryHeap<Item>();
    const gone = items(Array.from({ length: 1024 }, () => 5));
    gone.forEach((item) => empty.push(item));
    gone.forEach((item) => (item.closed = true));
    empty.noteClosed(1024);
    expect([empty.size, empty.hasDue(Infinity), empty.popDue(Infinity)]).toEqual([0, false, undefined]);

    const single = new ExpiryHeap<Item>();
    const all = items(Array.from({ length: 1025 }, () => 5));
    all.forEach((item) => single.push(item));
    all.slice(1).forEach((item) => (item.closed = true));
    single.noteClosed(1024);
    expect(single.size).toBe(1);
    expect(drain(single, 5)).toEqual([0]);
  });

  it('a purge restores the heap order, so the soonest open entry still pops first', () => {
    const heap = new ExpiryHeap<Item>();
    const all = items([1, 5, 2, ...Array.from({ length: 1024 }, () => 100)]);
    all.forEach((item) => heap.push(item));
    [all[0], ...all.slice(3)].forEach((item) => (item.closed = true));
    heap.noteClosed(1025);
    expect(heap.size).toBe(2);
    expect(drain(heap, Infinity)).toEqual([2, 1]);
  });
});

describe('LeaseQueue', () => {
  it('closing the newest entry again and again costs O(1) per lookup, not a walk over the closed tail', () => {
    let visits = 0;
    const entry = (seq: number) => {
      let closed = false;
      return {
        seq,
        get closed(): boolean {
          visits++;
          return closed;
        },
        close(): void {
          closed = true;
        },
      };
    };
    const queue = new LeaseQueue<ReturnType<typeof entry>>();
    for (let seq = 0; seq < 10_000; seq++) queue.push(entry(seq));
    for (let n = 0; n < 9_999; n++) {
      const newest = queue.newestOpenAtOrBefore(Number.MAX_SAFE_INTEGER, (e) => e.seq);
      expect(newest?.seq).toBe(9_999 - n);
      newest!.close();
    }
    // A few entries looked at per lookup; a walk over the closed tail would look at ~50 million.
    expect(visits).toBeLessThan(10 * 9_999);
    expect(queue.oldestOpen()?.seq).toBe(0);
  });

  it('returns the oldest open entry and keeps order across compactions', () => {
    const queue = new LeaseQueue<Item>();
    const all = items(Array.from({ length: 200 }, () => 0));
    all.forEach((item) => queue.push(item));
    all.slice(0, 150).forEach((item) => (item.closed = true));
    all[151].closed = true;
    expect(queue.oldestOpen()).toBe(all[150]);
    expect(queue.remaining()).toEqual(all.slice(150));
    all[150].closed = true;
    expect(queue.oldestOpen()).toBe(all[152]);
    all.forEach((item) => (item.closed = true));
    expect([queue.oldestOpen(), queue.remaining()]).toEqual([undefined, []]);
  });

  describe('newestOpenAtOrBefore (the lease of a call that started at a given time)', () => {
    interface Call {
      readonly openedAt: number;
      closed: boolean;
    }
    const openedAt = (call: Call): number => call.openedAt;
    const queueOf = (times: readonly number[]): { queue: LeaseQueue<Call>; calls: Call[] } => {
      const queue = new LeaseQueue<Call>();
      const calls = times.map((time) => ({ openedAt: time, closed: false }));
      calls.forEach((call) => queue.push(call));
      return { queue, calls };
    };

    it('is the newest open entry opened at or before the time, one opened exactly then included', () => {
      const { queue, calls } = queueOf([1, 5, 5, 7]);
      expect(queue.newestOpenAtOrBefore(5, openedAt)).toBe(calls[2]);
      expect(queue.newestOpenAtOrBefore(6, openedAt)).toBe(calls[2]);
      calls[2].closed = true;
      expect(queue.newestOpenAtOrBefore(5, openedAt)).toBe(calls[1]);
    });

    it('can be the oldest open entry itself, including when it was opened exactly at the time', () => {
      const { queue, calls } = queueOf([1, 5, 7]);
      expect(queue.newestOpenAtOrBefore(4, openedAt)).toBe(calls[0]);
      expect(queue.newestOpenAtOrBefore(1, openedAt)).toBe(calls[0]);
      calls[0].closed = true;
      expect(queue.newestOpenAtOrBefore(5, openedAt)).toBe(calls[1]);
    });

    it('answers at once, without a scan, when even the oldest open entry was opened later', () => {
      const { queue } = queueOf(Array.from({ length: 10_000 }, (_, i) => 100 + i));
      let keysRead = 0;
      const counted = (call: Call): number => {
        keysRead++;
        return call.openedAt;
      };
      expect(queue.newestOpenAtOrBefore(50, counted)).toBeUndefined();
      expect(keysRead).toBe(1);
    });
  });

  it('lists as remaining only the entries not yet skipped, without the trimmed head', () => {
    const queue = new LeaseQueue<Item>();
    const [a, b, c] = items([1, 2, 3]);
    [a, b, c].forEach((item) => queue.push(item));
    a.closed = true;
    expect(queue.oldestOpen()).toBe(b);
    expect(queue.remaining()).toEqual([b, c]);
  });
});

describe('InstanceLeases', () => {
  it('keeps one queue per project and lists the open entries of all of them', () => {
    const owner = new InstanceLeases<Item>();
    const [a1, b1, a2] = items([1, 2, 3]);
    owner.queueOf('a').push(a1);
    owner.queueOf('b').push(b1);
    owner.queueOf('a').push(a2);
    a1.closed = true;
    expect([owner.oldestOpen('a'), owner.oldestOpen('b'), owner.oldestOpen('c')]).toEqual([a2, b1, undefined]);
    expect(owner.openEntries()).toEqual([a2, b1]);
  });
});

describe('ProjectLeases', () => {
  it('counts open entries and knows the soonest open expiry, discarding closed ones on the way', () => {
    const project = new ProjectLeases<Item>();
    const [a, b, c] = items([30, 10, 20]);
    [a, b, c].forEach((item) => project.add(item));
    expect([project.open, project.earliestExpiry()]).toEqual([3, 10]);
    b.closed = true;
    expect([project.remove(), project.earliestExpiry()]).toEqual([2, 20]);
    c.closed = true;
    a.closed = true;
    expect([project.remove(), project.remove(), project.earliestExpiry()]).toEqual([1, 0, undefined]);
  });
});

describe('ExpiryHeap.peekOpen', () => {
  it('shows the soonest open entry without removing it, and no longer counts the closed ones it discards', () => {
    const heap = new ExpiryHeap<Item>();
    const all = items(Array.from({ length: 2048 }, (_, i) => i));
    all.forEach((item) => heap.push(item));
    for (const item of all.slice(0, 1023)) item.closed = true;
    heap.noteClosed(1023);
    expect(heap.peekOpen()).toBe(all[1023]);
    expect(heap.size).toBe(1025);
    // The discarded ones no longer count: one more closed entry does not trigger a purge.
    all[2047].closed = true;
    heap.noteClosed(1);
    expect(heap.size).toBe(1025);
  });
});
