/** How long a reported selection is remembered at least, unless {@link GENERATION_CAP} reports come first. */
export const REMEMBER_MS = 10 * 60_000;

/** Reports one generation holds before it is rotated early: the memory bound (two generations). */
export const GENERATION_CAP = 500_000;

const HEX52 = /^[0-9a-f]{13}$/;

/**
 * The selections already reported on this node, so a second report of one selection (a client
 * retrying a report whose answer it lost, a batch repeated) is acknowledged and not counted again.
 *
 * Two generations of 52-bit keys: a report is looked up in both and added to the current one; the
 * current one becomes the previous one every {@link REMEMBER_MS} or once it holds
 * {@link GENERATION_CAP} keys, whichever comes first. So a selection is remembered for 10 to 20
 * minutes, or — under more than 500 000 reports in 10 minutes — for at least the last 500 000
 * reports, in at most ~2 × 500 000 numbers (~40 MB). The gateway's selectionIds end in at least 16
 * random hex digits, of which the key takes the last 13; any other string the client sent is
 * hashed with its project. Two different selections share a key with probability ~n / 2^52.
 *
 * Per node: in cluster mode a repeat that reaches another node than the first report did is
 * counted there (the SDK sends a report's retries to the same address).
 *
 * @example
 * const reported = new ReportedSelections();
 * reported.firstReport(projectId, selectionId, now); // true: count it
 * reported.firstReport(projectId, selectionId, now); // false: already counted
 */
export class ReportedSelections {
  private current = new Set<number>();
  private previous = new Set<number>();
  private rotatedAt: number | undefined;

  constructor(
    private readonly rememberMs = REMEMBER_MS,
    private readonly cap = GENERATION_CAP,
  ) {}

  /** Whether this is the first report of the selection here (it is remembered from now on). */
  firstReport(projectId: string, selectionId: string, now: number): boolean {
    this.rotate(now);
    const key = keyOf(projectId, selectionId);
    if (this.current.has(key) || this.previous.has(key)) return false;
    this.current.add(key);
    return true;
  }

  /** Selections remembered now. */
  get size(): number {
    return this.current.size + this.previous.size;
  }

  private rotate(now: number): void {
    this.rotatedAt ??= now;
    if (now - this.rotatedAt < this.rememberMs && this.current.size < this.cap) return;
    this.previous = this.current;
    this.current = new Set();
    this.rotatedAt = now;
  }
}

/** 52 bits of the selection: its last 13 hex digits when it is the gateway's, else a hash with its project. */
function keyOf(projectId: string, selectionId: string): number {
  const tail = selectionId.length === 32 ? selectionId.slice(19) : '';
  return HEX52.test(tail) ? parseInt(tail, 16) : hash52(`${projectId}\u0000${selectionId}`);
}

/** Two 32-bit FNV-1a hashes (different offsets) over UTF-16 units, 26 bits of each: a 52-bit integer. */
function hash52(text: string): number {
  return (fnv1a(text, 0x811c9dc5) & 0x3ffffff) * 0x4000000 + (fnv1a(text, 0x050c5d1f) & 0x3ffffff);
}

function fnv1a(text: string, offset: number): number {
  let hash = offset;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}
