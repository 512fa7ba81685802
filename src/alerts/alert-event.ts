import type { WebhookEvent, WebhookFormat } from './webhook.entity';

/**
 * What a delivery says happened (`X-Gateway-Event`). `write-behind.recovered` goes to the
 * subscribers of `write-behind.failed`; `webhook.test` only to the webhook tested.
 */
export const ALERT_TYPES = [
  'breaker.transition',
  'quota.exhausted',
  'write-behind.failed',
  'write-behind.recovered',
  'webhook.test',
] as const;
export type AlertType = (typeof ALERT_TYPES)[number];

/** The subscription each alert type is delivered under (null: to the one webhook it names). */
const SUBSCRIPTION: Readonly<Record<AlertType, WebhookEvent | null>> = {
  'breaker.transition': 'breaker.transition',
  'quota.exhausted': 'quota.exhausted',
  'write-behind.failed': 'write-behind.failed',
  'write-behind.recovered': 'write-behind.failed',
  'webhook.test': null,
};

export function subscriptionOf(type: AlertType): WebhookEvent | null {
  return SUBSCRIPTION[type];
}

/** One alert, as queued: built on the request path from what is in memory, so kept small. */
export interface AlertEvent {
  /** 32 hex; the same in every webhook's delivery of it. */
  readonly id: string;
  readonly type: AlertType;
  /** The project it concerns; null for the node's own (write-behind), which only global webhooks get. */
  readonly projectId: string | null;
  /** Epoch ms (injected clock). */
  readonly occurredAt: number;
  /** `GATEWAY_NODE_ID` of the node that saw it. */
  readonly node: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** The `json` body of a delivery (docs/alerts.md). */
export function jsonPayload(event: AlertEvent): Record<string, unknown> {
  return {
    id: event.id,
    type: event.type,
    occurredAt: new Date(event.occurredAt).toISOString(),
    node: event.node,
    projectId: event.projectId,
    data: event.data,
  };
}

/** Slack's three characters with a meaning in message text. */
function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const LOG_NAMES: Readonly<Record<string, string>> = {
  'minute-metrics': 'minute metrics',
  'breaker-events': 'breaker events',
};

/** One line for a person, Slack `mrkdwn`. */
export function summaryOf(event: AlertEvent): string {
  const d = event.data as Record<string, string | number | null | undefined>;
  const name = (value: string | number | null | undefined) => escapeSlack(String(value ?? ''));
  const instance = () =>
    `\`${name(d.businessId ?? d.instanceId)}\` (instance ${name(d.instanceId)}, project ${name(event.projectId)})`;
  switch (event.type) {
    case 'breaker.transition': {
      const to = String(d.to);
      const icon = to === 'CLOSED' ? ':white_check_mark:' : to === 'DISABLED' ? ':warning:' : ':rotating_light:';
      return `${icon} *Breaker ${name(to)}* for ${instance()}: ${name(d.from)} → ${name(to)}, ${name(d.reason)} (by ${name(d.actor)})`;
    }
    case 'quota.exhausted':
      return `:hourglass: *Quota exhausted*: ${instance()} reached its ${name(d.limit)}Limit of ${name(d.value)} per minute`;
    case 'write-behind.failed':
      return `:x: *Writing ${name(LOG_NAMES[String(d.log)] ?? d.log)} failed* on node ${name(event.node)}: ${name(d.error)} (${name(d.held)} held, retrying)`;
    case 'write-behind.recovered':
      return `:white_check_mark: *${name(LOG_NAMES[String(d.log)] ?? d.log)} are written again* on node ${name(event.node)} after ${name(d.failedAttempts)} failed attempts`;
    case 'webhook.test':
      return `:wave: Test delivery from the API gateway (node ${name(event.node)})`;
  }
}

/** The `slack` body: `{ text, blocks }`, which Slack's incoming webhooks (and Mattermost's) accept. */
export function slackPayload(event: AlertEvent): Record<string, unknown> {
  const text = summaryOf(event);
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text } },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `${event.type} · ${new Date(event.occurredAt).toISOString()} · event ${event.id}`,
          },
        ],
      },
    ],
  };
}

/** The body of a delivery, in the webhook's format. */
export function payloadOf(event: AlertEvent, format: WebhookFormat): string {
  return JSON.stringify(format === 'slack' ? slackPayload(event) : jsonPayload(event));
}
