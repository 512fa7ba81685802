import type { ApiType, InstanceRecord, InstanceStatus } from './instance-record';

type Json = Readonly<Record<string, unknown>>;

/** Every field of a record but its JSON, which {@link StoredInstanceRecord} keeps as text. */
export type InstanceFields = Omit<InstanceRecord, 'routingParams' | 'metadata'>;

/**
 * The compact form the registry holds an instance in: `routingParams` and `metadata` stay the JSON
 * text they were stored as (about one byte per character) until something reads them, then are
 * parsed once, frozen, and kept. A parsed object costs 5–8× its JSON in heap when the JSON has
 * many distinct keys (each key is an interned string, each object shape a hidden class), so the
 * instances nothing asks for — inactive ones, those no select has reached yet, the whole registry
 * right after a restart — cost little more than their text, and warming the index parses nothing.
 *
 * Frozen, like every stored record: `routingParams` and `metadata` are own enumerable accessors
 * (they compare, spread and serialise like plain properties), so the record has the same keys, in
 * the same order, as a plain {@link InstanceRecord}, and all stored records share one shape.
 *
 * @example
 * const record = new StoredInstanceRecord(fields, '{"weight":3}', null);
 * record.routingParams.weight; // 3, parsed on this first read, the same object afterwards
 */
export class StoredInstanceRecord implements InstanceRecord {
  declare readonly id: string;
  declare readonly projectId: string;
  declare readonly userId: string | null;
  declare readonly apiIdentifier: string;
  declare readonly apiType: ApiType;
  declare readonly businessId: string;
  declare readonly routingParams: Json;
  declare readonly metadata: Json | null;
  declare readonly endpoint: string | null;
  declare readonly status: InstanceStatus;
  declare readonly createdAt: Date;
  declare readonly updatedAt: Date;

  readonly #routingParamsJson: string;
  readonly #metadataJson: string | null;
  #routingParams: Json | undefined;
  #metadata: Json | null | undefined;

  /** One accessor pair for every record, so the records share their hidden class. */
  static readonly #accessors: Readonly<Record<'routingParams' | 'metadata', PropertyDescriptor>> = {
    routingParams: {
      enumerable: true,
      get(this: StoredInstanceRecord): Json {
        return (this.#routingParams ??= Object.freeze(JSON.parse(this.#routingParamsJson) as Record<string, unknown>));
      },
    },
    metadata: {
      enumerable: true,
      get(this: StoredInstanceRecord): Json | null {
        if (this.#metadata === undefined) {
          const parsed = this.#metadataJson === null ? null : (JSON.parse(this.#metadataJson) as unknown);
          this.#metadata = isObject(parsed) ? Object.freeze(parsed) : null;
        }
        return this.#metadata;
      },
    },
  };

  /** `routingParamsJson` and `metadataJson` must be what `JSON.stringify` made of an object (or null). */
  constructor(fields: InstanceFields, routingParamsJson: string, metadataJson: string | null) {
    this.#routingParamsJson = routingParamsJson;
    this.#metadataJson = metadataJson;
    // Assigned in the order of a plain record's keys.
    const self = this as { -readonly [K in keyof InstanceFields]: InstanceFields[K] };
    self.id = fields.id;
    self.projectId = fields.projectId;
    self.userId = fields.userId;
    self.apiIdentifier = fields.apiIdentifier;
    self.apiType = fields.apiType;
    self.businessId = fields.businessId;
    Object.defineProperty(this, 'routingParams', StoredInstanceRecord.#accessors.routingParams);
    Object.defineProperty(this, 'metadata', StoredInstanceRecord.#accessors.metadata);
    self.endpoint = fields.endpoint ?? null;
    self.status = fields.status;
    self.createdAt = fields.createdAt;
    self.updatedAt = fields.updatedAt;
    Object.freeze(this);
  }

  /** The record's JSON as text, without parsing it (or keeping a parse). */
  static jsonOf(record: InstanceRecord): { readonly routingParams: string; readonly metadata: string | null } {
    if (record instanceof StoredInstanceRecord) {
      return { routingParams: record.#routingParamsJson, metadata: record.#metadataJson };
    }
    return {
      routingParams: JSON.stringify(record.routingParams ?? {}),
      metadata: record.metadata === null ? null : JSON.stringify(record.metadata),
    };
  }

  /** The record in compact form: itself when it already is one, else a copy with its JSON as text. */
  static of(record: InstanceRecord): StoredInstanceRecord {
    if (record instanceof StoredInstanceRecord) return record;
    const json = StoredInstanceRecord.jsonOf(record);
    return new StoredInstanceRecord(record, json.routingParams, json.metadata);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
