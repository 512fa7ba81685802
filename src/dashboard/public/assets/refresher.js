/**
 * Runs `task` every `intervalMs` while started, enabled and the tab is visible. Runs never overlap:
 * asking for one while another is in flight queues exactly one more, so what the person just changed
 * (a breaker command) is always fetched after the change. A hidden tab makes no requests; showing it
 * again refreshes at once.
 */
export class Refresher {
  constructor(task, intervalMs) {
    this.task = task;
    this.intervalMs = intervalMs;
    this.enabled = true;
    this.active = false;
    this.timer = null;
    this.running = null;
    this.queued = null;
    document.addEventListener('visibilitychange', () => {
      if (document.hidden) this.clearTimer();
      else if (this.active && this.enabled) void this.now();
    });
  }

  /** Refreshes now (after the run in progress, if any); resolves when that refresh is done. */
  now() {
    this.active = true;
    this.clearTimer();
    if (this.running) {
      this.queued ??= this.running.then(() => {
        this.queued = null;
        return this.now();
      });
      return this.queued;
    }
    this.running = (async () => {
      try {
        await this.task();
      } catch (error) {
        console.error('Refresh failed', error);
      } finally {
        this.running = null;
      }
    })();
    void this.running.then(() => this.schedule());
    return this.running;
  }

  stop() {
    this.active = false;
    this.clearTimer();
  }

  setEnabled(enabled) {
    this.enabled = enabled;
    if (enabled && this.active) void this.now();
    else this.clearTimer();
  }

  schedule() {
    this.clearTimer();
    if (this.active && this.enabled && !document.hidden && !this.queued) {
      this.timer = setTimeout(() => void this.now(), this.intervalMs);
    }
  }

  clearTimer() {
    clearTimeout(this.timer);
    this.timer = null;
  }
}
