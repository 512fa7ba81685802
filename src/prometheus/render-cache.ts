import type { Clock } from '../common/clock';

/** How long one rendering of `/metrics` is served. */
export const METRICS_RENDER_TTL_MS = 1000;

/**
 * The last rendering of a costly text, served for `ttlMs`: concurrent callers share one render,
 * and any number of scrape loops cost at most one render per `ttlMs` (the exposition is ~700 KB
 * at 5000 instances). A render that fails is not kept.
 */
export class RenderCache {
  private rendered?: { readonly text: string; readonly at: number };
  private pending?: Promise<string>;

  constructor(
    private readonly clock: Clock,
    private readonly render: () => Promise<string>,
    private readonly ttlMs = METRICS_RENDER_TTL_MS,
  ) {}

  get(): Promise<string> {
    const now = this.clock.now();
    if (this.rendered !== undefined && now - this.rendered.at < this.ttlMs) return Promise.resolve(this.rendered.text);
    this.pending ??= this.render()
      .then((text) => {
        this.rendered = { text, at: now };
        return text;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }
}
