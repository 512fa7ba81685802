import { ExpiryHeap, InstanceLeases, LeaseQueue } from './lease-queues';

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
