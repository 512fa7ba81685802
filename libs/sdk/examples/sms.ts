/**
 * A non-LLM case: sending an SMS through whichever of two providers is healthy.
 *
 * Both providers are registered under one identifier (`sms`, apiType `SMS_SERVICE`); the gateway
 * spreads the calls and stops offering a provider whose breaker opened. A provider that answers
 * HTTP 200 with a failure in its body is turned into an error carrying `status`, so the SDK
 * classifies it (503: the provider's fault, retried elsewhere) like an HTTP failure.
 *
 * Sending is not idempotent: a provider that took the message but did not answer in time has
 * probably sent it, and the other provider would send it again. So only outcomes that prove
 * nothing was sent are retried elsewhere (`retryOn`): SERVER_ERROR (the connection was refused, or
 * the provider answered that it failed: these providers answer 5xx or `failed` only for messages
 * they did not accept) and RATE_LIMITED (refused). A TIMEOUT or UNKNOWN ends the call.
 *
 * Environment: GATEWAY_URL, GATEWAY_API_KEY; SMS_A_URL and SMS_B_URL (each provider's base URL),
 * SMS_TO (default +15550100), SMS_TEXT, SMS_TIMEOUT_MS (one provider's time limit, default 5000).
 *
 * Run: node -r ts-node/register/transpile-only libs/sdk/examples/sms.ts
 */
import { GatewayClient } from '../src';

/** What both (fictional, typical) providers answer to `POST /messages`. */
interface SmsReceipt {
  readonly status: 'queued' | 'failed';
  readonly messageId?: string;
  readonly error?: string;
}

function env(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
}

async function main(): Promise<void> {
  const gw = new GatewayClient({
    baseUrl: env('GATEWAY_URL'),
    apiKey: env('GATEWAY_API_KEY'),
    apiType: 'SMS_SERVICE',
    attemptTimeoutMs: Number(env('SMS_TIMEOUT_MS', '5000')),
  });
  try {
    await gw.sync([
      { apiIdentifier: 'sms', businessId: 'sms-a', endpoint: env('SMS_A_URL') },
      { apiIdentifier: 'sms', businessId: 'sms-b', endpoint: env('SMS_B_URL') },
    ]);

    const to = env('SMS_TO', '+15550100');
    const receipt = await gw.call(
      'sms',
      async (instance, { signal }) => {
        const res = await fetch(`${instance.endpoint}/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ to, text: env('SMS_TEXT', 'Your code is 123456') }),
          signal,
        });
        // An error with the provider's status and headers is classified like the Response itself.
        if (!res.ok) throw Object.assign(new Error(await res.text()), { status: res.status, headers: res.headers });
        const body = (await res.json()) as SmsReceipt;
        if (body.status === 'failed') {
          throw Object.assign(new Error(`${instance.businessId}: ${body.error ?? 'failed'}`), { status: 503 });
        }
        return { provider: instance.businessId, messageId: body.messageId };
      },
      {
        // Messages to one number stick to one provider while it is healthy (one sender, in order).
        affinityKey: to,
        affinityType: 'USER',
        // Only failures that prove the message was not sent move on to the other provider.
        retryOn: ['SERVER_ERROR', 'RATE_LIMITED'],
      },
    );
    console.log(JSON.stringify(receipt));
  } finally {
    await gw.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
