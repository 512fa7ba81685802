/** How many tasks of one kind may wait for a key before {@link KeyedLanes.run} refuses another. */
export interface LaneBound {
  /**
   * Tasks of the same kind share the bound; waiters of other kinds do not count against it (e.g.
   * a few large batches, many small single registrations).
   */
  readonly kind: string;
  /** Tasks of this kind that may wait behind the running one; one more is refused. */
  readonly maxWaiting: number;
}

/** A task refused by {@link KeyedLanes.run}: `waiting` tasks of its kind already wait for its key. */
export class LaneFullError extends Error {
  constructor(
    readonly key: string,
    readonly kind: string,
    readonly waiting: number,
  ) {
    super(`${waiting} tasks of kind "${kind}" already wait for ${key}`);
    this.name = 'LaneFullError';
  }
}

interface Lane {
  /** Settles when the last task queued so far has settled. */
  tail: Promise<void>;
  /** Tasks queued and not started yet, by kind. */
  readonly waiting: Map<string, number>;
}

/**
 * Runs tasks one at a time per key, in arrival order, whatever the outcome of the one before;
 * tasks of different keys run concurrently. An idle key holds no memory.
 *
 * A bound limits how many tasks may wait for a key: each waiter holds what it was given (a parsed
 * request body, say) for as long as the tasks ahead of it take, so an unbounded queue is memory
 * any caller can pile up. A task that finds its kind's bound reached is refused at once with a
 * {@link LaneFullError}, and never runs.
 *
 * @example
 * const lanes = new KeyedLanes();
 * await lanes.run(projectId, () => registerInstances(projectId, items), { kind: 'batch', maxWaiting: 4 });
 */
export class KeyedLanes {
  private readonly lanes = new Map<string, Lane>();

  run<T>(key: string, task: () => Promise<T>, bound?: LaneBound): Promise<T> {
    const existing = this.lanes.get(key);
    const lane: Lane = existing ?? { tail: Promise.resolve(), waiting: new Map() };
    const kind = bound?.kind ?? '';
    // A task queued on an idle key starts at once: it never counts as waiting.
    const waits = existing !== undefined;
    if (waits) {
      const waiting = lane.waiting.get(kind) ?? 0;
      if (bound !== undefined && waiting >= bound.maxWaiting)
        return Promise.reject(new LaneFullError(key, kind, waiting));
      lane.waiting.set(kind, waiting + 1);
    }
    const result = lane.tail.then(() => {
      if (waits) leave(lane.waiting, kind);
      return task();
    });
    const tail = result.then(settled, settled);
    lane.tail = tail;
    this.lanes.set(key, lane);
    void tail.then(() => {
      if (lane.tail === tail) this.lanes.delete(key);
    });
    return result;
  }

  /** Tasks of `kind` queued for `key` and not started yet. */
  waiting(key: string, kind = ''): number {
    return this.lanes.get(key)?.waiting.get(kind) ?? 0;
  }

  /** Keys with a task running or waiting (tests). */
  get busy(): number {
    return this.lanes.size;
  }
}

function leave(waiting: Map<string, number>, kind: string): void {
  const left = (waiting.get(kind) ?? 1) - 1;
  if (left > 0) waiting.set(kind, left);
  else waiting.delete(kind);
}

function settled(): void {}
