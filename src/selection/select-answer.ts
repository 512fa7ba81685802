import type { SuccessEnvelope } from '../common/envelope';
import { ID_PATTERN } from '../common/ids';
import type { SelectedInstanceDto } from './dto/select-instance.dto';

/**
 * The fields of a select answer that come from the instance's record, in the answer's order. For
 * one record they are the same values (the same strings and objects) in every answer.
 */
export const RECORD_FIELDS = [
  'id',
  'projectId',
  'userId',
  'apiIdentifier',
  'apiType',
  'businessId',
  'routingParams',
  'status',
  'metadata',
  'endpoint',
  'createdAt',
  'updatedAt',
] as const satisfies readonly (keyof SelectedInstanceDto)[];

/** The fields each selection sets, in the answer's order (`explain` aside: answers with it are not written here). */
export const DECISION_FIELDS = [
  'selectionId',
  'strategy',
  'tier',
  'degraded',
  'fallbackUsed',
  'fallbackFrom',
  'affinityBound',
] as const satisfies readonly (keyof SelectedInstanceDto)[];

type RecordField = (typeof RECORD_FIELDS)[number];

/** A timestamp as text: the same millisecond's answers share one (a 13-digit number is slow to write). */
export class MillisecondText {
  private last = Number.NaN;
  private text = '';

  of(timestamp: number): string {
    if (timestamp !== this.last) {
      this.last = timestamp;
      this.text = String(timestamp);
    }
    return this.text;
  }
}

/** An instance's record fields as last written, and the answer's text up to them (without the closing brace). */
interface Fragment {
  readonly values: readonly unknown[];
  readonly json: string;
}

/** Instances whose fragment is kept; past this the map starts over (it only ever saves work). */
const MAX_FRAGMENTS = 100_000;
/** Strategy names kept as JSON (a select may name any strategy; unknown ones are refused before). */
const MAX_STRATEGY_NAMES = 1_000;
const HEAD = '{"code":200,"message":"success","data":{';

/**
 * The text from `degraded` to `timestamp`'s value, by the three flags (degraded 4, fallbackUsed 2,
 * affinityBound 1): with `fallbackFrom` null whole, else around its value.
 */
const FLAGS = Array.from({ length: 8 }, (_, mask) => {
  const flags = `,"degraded":${(mask & 4) !== 0},"fallbackUsed":${(mask & 2) !== 0},"fallbackFrom":`;
  const after = `,"affinityBound":${(mask & 1) !== 0}},"timestamp":`;
  return { withoutFallback: `${flags}null${after}`, before: flags, after };
});

/**
 * Writes select-instance's 200 answer as JSON text, for the hot route to send as it is. Most of an
 * answer is the chosen instance's record (ids, names, routing parameters, metadata, dates), the same
 * for every selection of that instance: its JSON is made once per record and kept, and each answer
 * adds only the selection's own fields. Compared with a serializer compiled from the answer's
 * schema, that escapes every string of every answer again, this is about a tenth of the work and a
 * third of the garbage. The kept JSON is used only while every record field is the same value as
 * when it was made (the registry replaces a record on every change, so a changed instance makes a
 * new fragment).
 *
 * Answers it does not write (undefined): one with `explain`, or any whose shape it does not know.
 * The route's schema serializer writes those. test/hot-path-schemas holds the text it writes to the
 * schema serializer's.
 */
export class SelectAnswerWriter {
  private readonly fragments = new Map<string, Fragment>();
  private readonly strategyNames = new Map<string, string>();
  private readonly timestamps = new MillisecondText();

  write(envelope: SuccessEnvelope<SelectedInstanceDto>): string | undefined {
    const data = envelope.data;
    if (data === undefined || data.explain !== undefined) return undefined;
    const { tier, degraded, fallbackUsed, affinityBound, fallbackFrom } = data;
    if (!Number.isFinite(tier) || !Number.isSafeInteger(envelope.timestamp)) return undefined;
    if (typeof degraded !== 'boolean' || typeof fallbackUsed !== 'boolean' || typeof affinityBound !== 'boolean') {
      return undefined;
    }
    if (typeof data.selectionId !== 'string' || typeof data.strategy !== 'string') return undefined;
    if (fallbackFrom !== null && typeof fallbackFrom !== 'string') return undefined;
    // Few pieces: each `+` of a long string makes a string object, and the answer is flattened once sent.
    const flags = FLAGS[(degraded ? 4 : 0) + (fallbackUsed ? 2 : 0) + (affinityBound ? 1 : 0)];
    return (
      this.fragmentOf(data) +
      ',"selectionId":' +
      stringJson(data.selectionId) +
      ',"strategy":' +
      this.strategyJson(data.strategy) +
      ',"tier":' +
      String(tier) +
      (fallbackFrom === null ? flags.withoutFallback : flags.before + JSON.stringify(fallbackFrom) + flags.after) +
      this.timestamps.of(envelope.timestamp) +
      '}'
    );
  }

  /** A strategy's name as JSON: there are a few names, each written many times. */
  private strategyJson(name: string): string {
    let json = this.strategyNames.get(name);
    if (json === undefined) {
      json = JSON.stringify(name);
      if (this.strategyNames.size >= MAX_STRATEGY_NAMES) this.strategyNames.clear();
      this.strategyNames.set(name, json);
    }
    return json;
  }

  private fragmentOf(data: SelectedInstanceDto): string {
    const kept = this.fragments.get(data.id);
    if (kept !== undefined && sameValues(kept.values, data)) return kept.json;
    const values = RECORD_FIELDS.map((field) => data[field]);
    const json =
      HEAD + JSON.stringify(Object.fromEntries(RECORD_FIELDS.map((field, i) => [field, values[i]]))).slice(1, -1);
    if (this.fragments.size >= MAX_FRAGMENTS) this.fragments.clear();
    this.fragments.set(data.id, { values, json });
    return json;
  }
}

/** Field by field, not by a loop over the names: named reads of one shape are the fast kind. */
function sameValues(values: readonly unknown[], data: Pick<SelectedInstanceDto, RecordField>): boolean {
  return (
    values[0] === data.id &&
    values[1] === data.projectId &&
    values[2] === data.userId &&
    values[3] === data.apiIdentifier &&
    values[4] === data.apiType &&
    values[5] === data.businessId &&
    values[6] === data.routingParams &&
    values[7] === data.status &&
    values[8] === data.metadata &&
    values[9] === data.endpoint &&
    values[10] === data.createdAt &&
    values[11] === data.updatedAt
  );
}

/**
 * A string as JSON: quoted as it is when it is an id the gateway makes (32 lowercase hex, which
 * JSON never escapes), else by `JSON.stringify`, which is several times slower.
 */
function stringJson(text: string): string {
  return ID_PATTERN.test(text) ? `"${text}"` : JSON.stringify(text);
}
