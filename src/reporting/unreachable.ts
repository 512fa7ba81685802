import type { OutcomeClass } from '../common/outcome';

/**
 * What clients say when a call never reached the backend: the connection was refused, or the host
 * is unknown or unreachable — Node (`connect ECONNREFUSED`, `getaddrinfo ENOTFOUND`), Java
 * (`java.net.ConnectException: Connection refused`, `UnknownHostException`,
 * `NoRouteToHostException`), Python requests/urllib3 (`Failed to establish a new connection: [Errno
 * 111] Connection refused`), Go (`dial tcp …: connect: connection refused`), .NET (`No connection
 * could be made because the target machine actively refused it`). A reset or a timeout is not
 * here: the backend may have been reached and be slow or overloaded. Linear: alternatives of
 * literals, no nested quantifiers.
 */
const UNREACHABLE =
  /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|connection refused|actively refused|ConnectException|UnknownHostException|NoRouteToHostException|Failed to establish a new connection|Name or service not known|nodename nor servname/i;

/** Classes a call that never reached the backend is reported as. */
const FAILURES: ReadonlySet<OutcomeClass> = new Set(['SERVER_ERROR', 'TIMEOUT', 'UNKNOWN']);

/**
 * Whether a failed report says the call never reached the backend — stronger evidence that it is
 * down than an error answer, so the breaker trips on fewer of them (`consecutiveUnreachable`). A
 * report with an HTTP status was answered by something: never unreachable.
 *
 * @example
 * isUnreachable({ outcome: 'SERVER_ERROR', errorMessage: 'fetch failed: connect ECONNREFUSED 10.0.0.7:443' }); // true
 * isUnreachable({ outcome: 'SERVER_ERROR', statusCode: 503, errorMessage: 'connection refused upstream' }); // false
 */
export function isUnreachable(report: {
  readonly outcome: OutcomeClass;
  readonly statusCode?: number;
  readonly errorMessage?: string;
  readonly errorType?: string;
}): boolean {
  if (!FAILURES.has(report.outcome) || report.statusCode !== undefined) return false;
  return (
    (report.errorMessage !== undefined && UNREACHABLE.test(report.errorMessage)) ||
    (report.errorType !== undefined && UNREACHABLE.test(report.errorType))
  );
}
