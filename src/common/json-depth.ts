const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \
const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]

/**
 * Whether a JSON text nests objects and arrays deeper than `limit` (the outermost one is level 1),
 * found without parsing it: one pass over the bytes, strings skipped (escaped quotes included),
 * stopping at the first level beyond the limit. Run before `JSON.parse` so that a body nested
 * thousands deep never reaches a recursive walker (prototype scan, class-transformer, validation).
 * Malformed text is not judged here: the parser reports it.
 *
 * @example
 * exceedsJsonDepth(Buffer.from('{"a":[[1]]}'), 2); // true: three levels
 * exceedsJsonDepth(Buffer.from('{"a":"[[[["}'), 1); // false: brackets inside a string
 */
export function exceedsJsonDepth(text: Buffer, limit: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const byte = text[i];
    if (byte === QUOTE) {
      i = closingQuote(text, i);
      if (i < 0) return false;
    } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      if (++depth > limit) return true;
    } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      depth--;
    }
  }
  return false;
}

/** Index of the quote closing the string opened at `open`, or -1 when the string never closes. */
function closingQuote(text: Buffer, open: number): number {
  let at = text.indexOf(QUOTE, open + 1);
  while (at > 0 && isEscaped(text, at)) at = text.indexOf(QUOTE, at + 1);
  return at;
}

/** A quote is escaped when an odd number of backslashes precedes it. */
function isEscaped(text: Buffer, quote: number): boolean {
  let backslashes = 0;
  for (let i = quote - 1; i >= 0 && text[i] === BACKSLASH; i--) backslashes++;
  return backslashes % 2 === 1;
}
