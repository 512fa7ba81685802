import type { OpenAPIObject } from '@nestjs/swagger';
import { EXAMPLE_ID } from './error-docs';

/** One named example of a request body, as OpenAPI writes it. */
interface BodyExample {
  readonly summary: string;
  readonly description?: string;
  readonly value: unknown;
}

const ROUTING_PARAMS = {
  priority: 1,
  weight: 10,
  costPerUnit: 0.002,
  rpmLimit: 600,
  maxConcurrency: 20,
  timeoutMs: 30000,
};

const INSTANCE = {
  apiIdentifier: 'gpt-4o',
  apiType: 'MODEL',
  businessId: 'openai-gpt-4o-eu',
  routingParams: ROUTING_PARAMS,
  metadata: { region: 'eu-west-1' },
  endpoint: 'https://api.openai.com/v1',
};

const SECOND_INSTANCE = {
  apiIdentifier: 'gpt-4o',
  apiType: 'MODEL',
  businessId: 'azure-gpt-4o-eu',
  routingParams: { priority: 1, weight: 5, rpmLimit: 300, timeoutMs: 30000 },
  endpoint: 'https://example-eu.openai.azure.com/openai/deployments/gpt-4o',
};

const UPDATE = {
  apiIdentifier: 'gpt-4o',
  routingParams: { ...ROUTING_PARAMS, weight: 20 },
  metadata: { region: 'eu-west-1', tier: 'premium' },
};

/** Where a report's ids come from: Swagger UI sends the example as it is. */
const REPORT_IDS =
  'Put the `instanceId`, `businessId` and `selectionId` of a select-instance answer here: with the ids as ' +
  'written, no instance of your project matches and the gateway answers 404 INSTANCE_NOT_FOUND.';

const SUCCESS_REPORT = {
  instanceId: EXAMPLE_ID,
  businessId: 'openai-gpt-4o-eu',
  selectionId: '0b6f3c2a9e8d4f1a8c7b6a5d4e3f2a1b',
  success: true,
  latencyMs: 840,
  callTimestamp: 1767225600000,
  statusCode: 200,
  usageMetrics: { promptTokens: 1200, completionTokens: 300, totalTokens: 1500, cost: 0.0045 },
};

const FAILURE_REPORT = {
  instanceId: EXAMPLE_ID,
  businessId: 'openai-gpt-4o-eu',
  selectionId: '7c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f',
  success: false,
  latencyMs: 120,
  callTimestamp: 1767225600000,
  statusCode: 429,
  errorType: 'RATE_LIMITED',
  errorMessage: 'Rate limit reached for gpt-4o',
  retryAfterMs: 20000,
};

/**
 * Request-body examples that pass validation when tried from Swagger UI as they are, by
 * operationId. Without one, Swagger UI makes a body up from the schema (`"string"` passwords of
 * 6 characters, made-up project ids) that answers 400. Operations that name records which cannot
 * exist in every gateway (a report's instance, an admin's target project) say so in the example.
 */
const BODY_EXAMPLES: Readonly<Record<string, Readonly<Record<string, BodyExample>>>> = {
  Projects_create: {
    bind: {
      summary: 'Create the project of an issued key',
      description: 'Use a key an admin issued (`POST /api/admin/apikeys`); another key answers 401 INVALID_API_KEY.',
      value: {
        name: 'Checkout service',
        description: 'Chooses the payment gateway at checkout',
        apiKey: 'gw_4fQ8b2Lk9Zr1Xv7Tn3Hc6Yp0Wm5Ds8Ja2Ue4Gi',
      },
    },
  },
  Projects_updateSettings: {
    settings: {
      summary: 'Stricter breaker, shorter leases',
      value: {
        defaultStrategy: 'smart',
        breaker: { consecutiveFailures: 3, openSeconds: 20 },
        quotas: { leaseTtlMs: 60000 },
      },
    },
  },
  AdminProjects_create: {
    project: {
      summary: 'A project with a default strategy',
      value: {
        name: 'Checkout service',
        description: 'Chooses the payment gateway at checkout',
        settings: { defaultStrategy: 'smart' },
      },
    },
  },
  AdminProjects_update: {
    rename: { summary: 'Rename', value: { name: 'Checkout service (EU)', description: 'EU checkout' } },
  },
  AdminProjects_setStatus: {
    active: { summary: 'Let its keys in again', value: { status: 'ACTIVE' } },
  },
  AdminProjects_issueKey: {
    key: {
      summary: 'A key for selecting and reporting',
      value: { scopes: ['select', 'report'], description: 'checkout-service production' },
    },
  },
  AdminApiKeys_create: {
    unbound: {
      summary: 'An unbound key (POST /api/projects binds it)',
      value: { scopes: ['select', 'report', 'registry:write', 'read'], description: 'checkout-service onboarding' },
    },
  },
  AdminApiKeys_update: {
    scopes: {
      summary: 'Narrow the scopes',
      value: { scopes: ['select', 'report'], description: 'checkout-service production' },
    },
  },
  AdminApiKeys_setStatus: {
    revoke: { summary: 'Revoke the key (at once, everywhere)', value: { status: 'REVOKED' } },
  },
  AdminUsers_create: {
    viewer: {
      summary: 'A read-only admin',
      value: { username: 'ops@example.com', role: 'viewer', password: 'correct-horse-battery' },
    },
  },
  AdminUsers_update: {
    promote: { summary: 'Make an admin', value: { role: 'admin' } },
  },
  AdminAuth_login: {
    login: {
      summary: 'Log in',
      description: 'The bootstrap admin is `GATEWAY_ADMIN_USERNAME` / `GATEWAY_ADMIN_PASSWORD`.',
      value: { username: 'admin', password: 'change-me-now' },
    },
  },
  AdminAuth_changePassword: {
    change: {
      summary: 'Change my password',
      value: { currentPassword: 'change-me-now', newPassword: 'a-much-longer-passphrase' },
    },
  },
  Instances_create: {
    model: { summary: 'A chat model behind an OpenAI-compatible URL', value: INSTANCE },
  },
  Instances_createBatch: {
    two: { summary: 'Two providers of one model', value: { instances: [INSTANCE, SECOND_INSTANCE] } },
  },
  Instances_deleteBatch: {
    one: { summary: 'Delete by key', value: { instances: [{ apiType: 'MODEL', businessId: 'azure-gpt-4o-eu' }] } },
  },
  Instances_update: {
    weight: { summary: 'A heavier weight', value: UPDATE },
  },
  AdminInstances_create: {
    model: {
      summary: 'Register an instance for a project',
      description: 'Put the id of an existing project in `projectId`; another answers 404 PROJECT_NOT_FOUND.',
      value: { ...INSTANCE, projectId: EXAMPLE_ID },
    },
  },
  AdminInstances_update: {
    weight: { summary: 'A heavier weight', value: UPDATE },
  },
  Gateway_report: {
    success: { summary: 'A successful call', description: REPORT_IDS, value: SUCCESS_REPORT },
    rateLimited: { summary: 'The provider answered 429', description: REPORT_IDS, value: FAILURE_REPORT },
  },
  Gateway_reportAll: {
    two: { summary: 'Two calls', description: REPORT_IDS, value: { results: [SUCCESS_REPORT, FAILURE_REPORT] } },
  },
  AdminCircuit_setCircuit: {
    open: { summary: 'Keep the instance out', value: { state: 'FORCED_OPEN' } },
  },
};

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

type MediaType = { examples?: Record<string, unknown>; example?: unknown };
type OperationLike = { operationId?: string; requestBody?: { content?: Record<string, MediaType> } };

/** Adds {@link BODY_EXAMPLES} to the operations that take a JSON body and have no example yet. */
export function addBodyExamples(document: OpenAPIObject): void {
  for (const item of Object.values(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method] as OperationLike | undefined;
      const media = operation?.requestBody?.content?.['application/json'];
      const examples = operation?.operationId === undefined ? undefined : BODY_EXAMPLES[operation.operationId];
      if (!media || !examples || media.examples !== undefined || media.example !== undefined) continue;
      media.examples = { ...examples };
    }
  }
}
