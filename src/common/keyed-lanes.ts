/**
 * Runs tasks one at a time per key, in arrival order, whatever the outcome of the one before;
 * tasks of different keys run concurrently. An idle key holds no memory.
 *
 * @example
 * const lanes = new KeyedLanes();
 * await lanes.run(projectId, () => registerInstances(projectId, items));
 */
export class KeyedLanes {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(settled, settled);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with a task running or waiting (tests). */
  get busy(): number {
    return this.tails.size;
  }
}

function settled(): void {}
