/**
 * API keys anyone can read: printed in AgentX's documentation and configuration examples, and in
 * this repository's README. A gateway that accepts one lets anybody who has read those pages in —
 * so the start-up warns loudly (prefix only) while one of them can still authenticate or be bound.
 */
export const PUBLICLY_KNOWN_API_KEYS: readonly string[] = [
  // AgentX's default `gateway.api-key` (its application.yml and README; this README's examples).
  'default-api-key-1234567890',
];
