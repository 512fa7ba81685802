import { GatewayRequestError } from './errors';
import type { components } from './generated/schema';
import { type Transport, sleep } from './transport';
import type { ApiType } from './types';

type Schemas = components['schemas'];

/** An instance the application wants registered (what `POST /api/instances` takes). */
export type SyncInstance = Omit<Schemas['CreateInstanceDto'], 'apiType' | 'endpoint'> & {
  /** Default: the client's `apiType`, else `MODEL`. */
  readonly apiType?: ApiType;
  /** The URL to call (absolute http or https). */
  readonly endpoint?: string;
};

/** What `sync()` may change beside registering, and how long a batch may take. */
export interface SyncOptions {
  /**
   * `true` activates listed instances that are INACTIVE. Default `false`: an instance an operator
   * (or an earlier sync) deactivated stays INACTIVE through restarts (ADR 0009); such instances
   * are listed in `SyncResult.inactive`.
   */
  readonly activate?: boolean;
  /**
   * Each registration batch's time limit, ms (default 60 000: a batch of hundreds of instances
   * takes longer than the client's `gatewayTimeoutMs`).
   */
  readonly batchTimeoutMs?: number;
  /**
   * `'identifiers'` (default): only instances sharing an (apiType, apiIdentifier) pair with the
   * list, so applications owning other identifiers of one project do not undo each other;
   * `'project'`: every instance of the project.
   */
  readonly scope?: 'identifiers' | 'project';
  /** `false` leaves missing instances as they are (default true: deactivated). */
  readonly deactivateMissing?: boolean;
}

/** How a registration left an instance. */
export type Registration = 'created' | 'updated' | 'unchanged';

/** An instance by its keys and id. */
export interface InstanceRef {
  readonly apiType: ApiType;
  readonly businessId: string;
  readonly id: string;
}

/** What `sync()` did. */
export interface SyncResult {
  /** Every instance of the list (duplicates collapsed into the first), in list order. */
  readonly instances: readonly (InstanceRef & { readonly registration: Registration })[];
  /** Listed instances that were INACTIVE and were activated (only with `activate: true`). */
  readonly activated: readonly InstanceRef[];
  /** Listed instances left INACTIVE (deactivated by an operator or an earlier sync; see `activate`). */
  readonly inactive: readonly InstanceRef[];
  /** ACTIVE instances in scope that were not listed, now INACTIVE. */
  readonly deactivated: readonly InstanceRef[];
}

type Instance = Schemas['InstanceDto'] & { readonly registration?: Registration };
type InstancePage = Schemas['InstancePageDto'];

/** Instances per batch request: far below the route's limit, so that big metadata stays under its body limit. */
const BATCH_ITEMS = 500;
const BATCH_CHARS = 2_000_000;
const PAGE_SIZE = 200;
/** Activations and deactivations in flight at once. */
const PARALLEL = 4;
/** Attempts of one request refused with 429 or failed for want of a gateway. */
const TRIES = 5;
/** The default time limit of one registration batch, ms. */
const BATCH_TIMEOUT_MS = 60_000;
/** Connection failures before anything was sent (the transport's message carries the cause's code). */
const NOT_CONNECTED = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH/;

/**
 * Declarative start-up registration (see `GatewayClient.sync`): registers the list through the
 * batch route (which creates or updates each and answers every one with its id), activates listed
 * INACTIVE instances only when asked to (`activate: true`), then deactivates ACTIVE instances in
 * scope that are not listed. DEPRECATED instances are left as they are: deprecation is an
 * operator's decision.
 */
export async function syncInstances(
  transport: Transport,
  wanted: readonly SyncInstance[],
  defaultApiType: ApiType,
  options: SyncOptions,
): Promise<SyncResult> {
  const distinct = new Map<string, Schemas['CreateInstanceDto']>();
  for (const item of wanted) {
    const body = { ...item, apiType: item.apiType ?? defaultApiType } as Schemas['CreateInstanceDto'];
    const key = keyOf(body.apiType, body.businessId);
    if (!distinct.has(key)) distinct.set(key, body);
  }
  const registered = new Map<string, Instance>();
  const timeoutMs = options.batchTimeoutMs ?? BATCH_TIMEOUT_MS;
  for (const batch of batches([...distinct.values()])) {
    // A batch that got no answer may have been applied: it is sent again once only. That is safe
    // (registering is idempotent: what is sent is what is stored), but the second answer says
    // `unchanged` for what the first one created or updated, and the registry budget is charged twice.
    const answer = await retrying(
      () => transport.request<Instance[]>('POST', '/api/instances/batch', { body: { instances: batch }, timeoutMs }),
      { maybeApplied: 1 },
    );
    for (const instance of answer) registered.set(keyOf(instance.apiType, instance.businessId), instance);
  }
  const instances = [...distinct.keys()].map((key) => {
    const instance = registered.get(key);
    if (instance === undefined || instance.registration === undefined) {
      throw new Error(
        `the gateway's batch answer lacks ${key.replace('\u0000', '/')} or its registration: sync() needs a gateway that answers every instance of a batch`,
      );
    }
    return instance;
  });

  const inactive = instances.filter((instance) => instance.status === 'INACTIVE');
  const activated =
    options.activate === true
      ? await parallel(inactive, (instance) => transition(transport, instance, 'activate'))
      : [];

  let deactivated: InstanceRef[] = [];
  if (options.deactivateMissing !== false) {
    const inScope = await listActive(transport, options.scope ?? 'identifiers', [...distinct.values()]);
    const missing = inScope.filter((instance) => !distinct.has(keyOf(instance.apiType, instance.businessId)));
    deactivated = await parallel(missing, (instance) => transition(transport, instance, 'deactivate'));
  }
  return {
    instances: instances.map((instance) => ({
      ...refOf(instance),
      registration: instance.registration ?? 'unchanged',
    })),
    activated,
    inactive: options.activate === true ? [] : inactive.map(refOf),
    deactivated,
  };
}

function keyOf(apiType: string, businessId: string): string {
  return `${apiType}\u0000${businessId}`;
}

function refOf(instance: Instance): InstanceRef {
  return { apiType: instance.apiType, businessId: instance.businessId, id: instance.id };
}

/** Splits the list by count and by serialized size. */
function batches<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let chars = 0;
  for (const item of items) {
    const size = JSON.stringify(item).length;
    if (current.length > 0 && (current.length >= BATCH_ITEMS || chars + size > BATCH_CHARS)) {
      out.push(current);
      current = [];
      chars = 0;
    }
    current.push(item);
    chars += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Every ACTIVE instance in scope, all pages read before anything changes (deactivating shifts the pages). */
async function listActive(
  transport: Transport,
  scope: 'identifiers' | 'project',
  wanted: readonly Schemas['CreateInstanceDto'][],
): Promise<Instance[]> {
  const filters: Record<string, string>[] =
    scope === 'project'
      ? [{}]
      : [
          ...new Map(
            wanted.map((i) => [
              keyOf(i.apiType, i.apiIdentifier),
              { apiType: i.apiType, apiIdentifier: i.apiIdentifier },
            ]),
          ).values(),
        ];
  const found = new Map<string, Instance>();
  for (const filter of filters) {
    for (let page = 1; ; page++) {
      const answer = await retrying(() =>
        transport.request<InstancePage>('GET', '/api/instances', {
          query: { ...filter, status: 'ACTIVE', page, size: PAGE_SIZE },
        }),
      );
      for (const instance of answer.items) found.set(instance.id, instance);
      if (answer.items.length < PAGE_SIZE || page * PAGE_SIZE >= answer.total) break;
    }
  }
  return [...found.values()].filter((instance) => instance.status === 'ACTIVE');
}

async function transition(
  transport: Transport,
  instance: Instance,
  action: 'activate' | 'deactivate',
): Promise<InstanceRef> {
  const path = `/api/instances/${encodeURIComponent(instance.apiType)}/${encodeURIComponent(instance.businessId)}/${action}`;
  await retrying(() => transport.request<Instance>('POST', path));
  return refOf(instance);
}

/** Runs `work` over the items, {@link PARALLEL} at a time, answering in item order. */
async function parallel<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
  return results;
}

/**
 * Retries a request the gateway refused for now (429, with its Retry-After) or could not answer.
 * `maybeApplied` bounds the retries after a failure that may have come after the gateway applied
 * the request (no answer in time, a 5xx); a refused connection or a 429 applied nothing.
 */
async function retrying<T>(request: () => Promise<T>, limits: { maybeApplied?: number } = {}): Promise<T> {
  let ambiguous = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (error) {
      const transient = error instanceof GatewayRequestError && (error.status === 429 || error.unavailable);
      if (!transient || attempt >= TRIES) throw error;
      if (!appliedNothing(error) && ++ambiguous > (limits.maybeApplied ?? TRIES)) throw error;
      const asked = error.retryAfterMs ?? 0;
      await sleep(Math.min(30_000, Math.max(asked, 200 * 2 ** (attempt - 1))));
    }
  }
}

/** A 429, or a connection that was never made: the gateway applied nothing of the request. */
function appliedNothing(error: GatewayRequestError): boolean {
  if (error.status === 429) return true;
  return error.status === undefined && NOT_CONNECTED.test(error.message);
}
