/**
 * An OpenAI-compatible chat call over two providers, with fallback.
 *
 * At start-up the application registers what it may call (`sync`): a primary provider under the
 * identifier `chat` and a second one under `chat-fallback`. Each call asks the gateway which to
 * use; when the primary fails (or its breaker is open) the call moves on to the fallback chain.
 * The URL comes from the instance's `endpoint`, the model name from its metadata; provider keys
 * stay in this process (never in the registry).
 *
 * Environment: GATEWAY_URL, GATEWAY_API_KEY; PRIMARY_URL and FALLBACK_URL (OpenAI-compatible base
 * URLs such as https://api.openai.com/v1), PRIMARY_API_KEY and FALLBACK_API_KEY (optional),
 * PRIMARY_MODEL and FALLBACK_MODEL (default gpt-4o-mini), PROMPT.
 *
 * Run: node -r ts-node/register/transpile-only libs/sdk/examples/openai-chat.ts
 */
import { GatewayClient, usageFromResponse } from '../src';

interface ChatCompletion {
  readonly choices: { readonly message: { readonly content: string | null } }[];
  readonly usage?: { readonly total_tokens: number };
}

function env(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
}

async function main(): Promise<void> {
  const gw = new GatewayClient({ baseUrl: env('GATEWAY_URL'), apiKey: env('GATEWAY_API_KEY') });
  const providerKeys: Record<string, string | undefined> = {
    primary: process.env.PRIMARY_API_KEY,
    fallback: process.env.FALLBACK_API_KEY,
  };
  try {
    await gw.sync([
      {
        apiIdentifier: 'chat',
        businessId: 'primary',
        endpoint: env('PRIMARY_URL'),
        metadata: { model: env('PRIMARY_MODEL', 'gpt-4o-mini') },
      },
      {
        apiIdentifier: 'chat-fallback',
        businessId: 'fallback',
        endpoint: env('FALLBACK_URL'),
        metadata: { model: env('FALLBACK_MODEL', 'gpt-4o-mini') },
      },
    ]);

    let servedBy = '';
    const res = await gw.call(
      'chat',
      (instance, { signal }) => {
        servedBy = instance.businessId;
        const key = providerKeys[instance.businessId];
        return fetch(`${instance.endpoint}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
          body: JSON.stringify({
            model: instance.metadata?.model,
            messages: [{ role: 'user', content: env('PROMPT', 'Say hello in one word.') }],
          }),
          signal,
        });
      },
      { fallbackChain: ['chat-fallback'], usage: usageFromResponse },
    );
    const completion = (await res.json()) as ChatCompletion;
    console.log(
      JSON.stringify({
        servedBy,
        answer: completion.choices[0]?.message.content,
        totalTokens: completion.usage?.total_tokens,
      }),
    );
  } finally {
    // Delivers the queued reports.
    await gw.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
