import type { Usage } from './types';

/** The largest token count or cost a report may carry. */
const MAX_METRIC = 1_000_000_000;

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.min(value, MAX_METRIC) : undefined;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** Drops absent fields; undefined when nothing is left. */
function compact(usage: Usage): Usage | undefined {
  const out: Usage = {};
  for (const key of ['promptTokens', 'completionTokens', 'totalTokens', 'cost'] as const) {
    if (usage[key] !== undefined) out[key] = usage[key];
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

/**
 * Usage of an OpenAI-compatible answer (Chat Completions `usage.prompt_tokens`,
 * `completion_tokens`, `total_tokens`; Responses API `input_tokens`, `output_tokens`), or of its
 * final stream chunk (`stream_options: { include_usage: true }`).
 *
 * @example
 * const completion = await res.json();
 * openAIUsage(completion); // { promptTokens: 12, completionTokens: 30, totalTokens: 42 }
 */
export function openAIUsage(body: unknown): Usage | undefined {
  const usage = record(record(body)?.usage ?? record(record(body)?.response)?.usage);
  if (usage === undefined) return undefined;
  const prompt = count(usage.prompt_tokens) ?? count(usage.input_tokens);
  const completion = count(usage.completion_tokens) ?? count(usage.output_tokens);
  const total =
    count(usage.total_tokens) ?? (prompt !== undefined && completion !== undefined ? prompt + completion : undefined);
  return compact({ promptTokens: prompt, completionTokens: completion, totalTokens: total });
}

/**
 * Usage of an Anthropic Messages answer: `usage.input_tokens` (plus cache creation and cache read
 * tokens, which the model processed too) and `usage.output_tokens`.
 *
 * @example
 * anthropicUsage(await res.json()); // { promptTokens: 20, completionTokens: 7, totalTokens: 27 }
 */
export function anthropicUsage(body: unknown): Usage | undefined {
  const message = record(body);
  const usage = record(message?.usage ?? record(message?.message)?.usage);
  if (usage === undefined) return undefined;
  const input = count(usage.input_tokens);
  const cached = (count(usage.cache_creation_input_tokens) ?? 0) + (count(usage.cache_read_input_tokens) ?? 0);
  const prompt = input === undefined ? undefined : input + cached;
  const completion = count(usage.output_tokens);
  const total = prompt !== undefined && completion !== undefined ? prompt + completion : undefined;
  return compact({ promptTokens: prompt, completionTokens: completion, totalTokens: total });
}

/**
 * Usage of an OpenAI-compatible or Anthropic JSON body, whichever shape it has.
 *
 * @example
 * await gw.call('gpt-4o', send, { usage: usageFromBody }); // when `send` resolves to the parsed body
 */
export function usageFromBody(body: unknown): Usage | undefined {
  const usage = record(record(body)?.usage);
  if (usage && ('prompt_tokens' in usage || 'completion_tokens' in usage || 'total_tokens' in usage)) {
    return openAIUsage(body);
  }
  if (usage && ('cache_creation_input_tokens' in usage || 'cache_read_input_tokens' in usage)) {
    return anthropicUsage(body);
  }
  return openAIUsage(body) ?? anthropicUsage(body);
}

/**
 * Usage of a JSON `Response`, read from a clone (the caller still reads the original); undefined
 * for other content types or an unreadable body.
 *
 * @example
 * const res = await gw.call('gpt-4o', (i, { signal }) => fetch(`${i.endpoint}/chat/completions`, { …, signal }), {
 *   usage: usageFromResponse,
 * });
 */
export async function usageFromResponse(response: Response): Promise<Usage | undefined> {
  if (!/\bjson\b/i.test(response.headers.get('content-type') ?? '')) return undefined;
  try {
    return usageFromBody(await response.clone().json());
  } catch {
    return undefined;
  }
}

/**
 * Accumulates usage over stream events: OpenAI's final chunk carries it whole; Anthropic's
 * `message_start` carries the input tokens and each `message_delta` the output tokens so far.
 */
export class StreamUsage {
  private prompt?: number;
  private completion?: number;
  private total?: number;

  /** Reads one parsed event (an SSE `data` object or an SDK's chunk). */
  add(event: unknown): void {
    const chunk = record(event);
    if (chunk === undefined) return;
    if (chunk.type === 'message_start' || chunk.type === 'message_delta') {
      const usage = anthropicUsage(chunk);
      // message_delta's counts are cumulative; newer APIs repeat the input tokens there too.
      if (usage?.promptTokens !== undefined) this.prompt = usage.promptTokens;
      if (usage?.completionTokens !== undefined) this.completion = usage.completionTokens;
      this.total =
        this.prompt !== undefined && this.completion !== undefined ? this.prompt + this.completion : undefined;
      return;
    }
    // OpenAI's final chunk carries `usage`; a Responses API `response.completed` event, `response.usage`.
    const usage = (record(chunk.usage) ?? record(record(chunk.response)?.usage)) ? openAIUsage(chunk) : undefined;
    if (usage === undefined) return;
    this.prompt = usage.promptTokens ?? this.prompt;
    this.completion = usage.completionTokens ?? this.completion;
    this.total = usage.totalTokens ?? this.total;
  }

  /** Usage known another way (an SDK's final message), taken only when no event carried any. */
  fallback(usage: Usage | undefined): void {
    if (usage === undefined || this.result() !== undefined) return;
    this.prompt = usage.promptTokens;
    this.completion = usage.completionTokens;
    this.total = usage.totalTokens;
  }

  /** What was seen, or undefined when no event carried usage. */
  result(): Usage | undefined {
    return compact({ promptTokens: this.prompt, completionTokens: this.completion, totalTokens: this.total });
  }
}
