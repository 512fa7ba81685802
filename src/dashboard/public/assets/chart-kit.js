// One uPlot chart that follows its container's size. uPlot draws on a canvas of a fixed size in
// CSS pixels: the chart must be told every new width. Each frame watches its own container with a
// ResizeObserver and redraws at the new width; a chart asked to draw while its container is hidden
// (width 0: another view in front) waits until it is shown instead of being drawn 0 px wide, and a
// resize to 0 is ignored instead of leaving an empty canvas behind.

export const CHART_HEIGHT = 200;
const MIN_WIDTH = 120;

export class ChartFrame {
  /** `container`: the element the chart fills; `options(width)`: uPlot options for that width. */
  constructor(container, options) {
    this.container = container;
    this.options = options;
    this.plot = null;
    this.pending = null;
    this.signature = null;
    this.observer = new ResizeObserver((entries) => this.resized(entries[entries.length - 1].contentRect.width));
    this.observer.observe(container);
  }

  /** The container's usable width now (0 when hidden). */
  width() {
    return Math.floor(this.container.clientWidth);
  }

  /**
   * Draws `data` (uPlot's aligned arrays). `signature` names the set of series: a new one builds
   * the chart again (e.g. other instances compared), the same one only replaces the data.
   */
  draw(data, signature = '') {
    const uPlot = globalThis.uPlot;
    if (typeof uPlot !== 'function') throw new Error('Charts are unavailable: the chart library did not load.');
    if (this.plot && this.signature === signature) {
      this.plot.setData(data);
      this.pending = null;
      return;
    }
    this.clear();
    this.signature = signature;
    const width = this.width();
    if (width < MIN_WIDTH) {
      this.pending = data; // drawn by `resized` once the container is laid out
      return;
    }
    this.plot = new uPlot(this.options(width), data, this.container);
  }

  resized(rawWidth) {
    const width = Math.floor(rawWidth);
    if (width < MIN_WIDTH) return; // hidden: keep the drawing for when it is shown again
    if (this.pending) {
      const data = this.pending;
      this.pending = null;
      this.plot = new globalThis.uPlot(this.options(width), data, this.container);
      return;
    }
    if (this.plot && Math.abs(this.plot.width - width) >= 1) {
      this.plot.setSize({ width, height: CHART_HEIGHT });
    }
  }

  /** Removes the drawing (the frame stays, ready for the next `draw`). */
  clear() {
    this.plot?.destroy();
    this.plot = null;
    this.pending = null;
    this.signature = null;
  }

  dispose() {
    this.clear();
    this.observer.disconnect();
  }
}

export const AXIS = { stroke: '#57606a', grid: { stroke: '#eaeef2' }, ticks: { stroke: '#d0d7de' } };
/** Value axes wide enough for "10,000" or "0.0025". */
export const VALUE_AXIS_SIZE = 64;

/** Colours that stay apart for the usual number of backends of one API, all readable on white. */
export const PALETTE = ['#0b57d0', '#c62828', '#2e7d32', '#b35c00', '#6a1b9a', '#00796b', '#ad1457', '#37474f'];
