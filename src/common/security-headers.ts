/**
 * Security headers, computed once and set in one call per response.
 *
 * Pages a browser renders (the dashboard, Swagger UI: any `text/html` answer) get Helmet's full
 * default set. Everything else is JSON (or a script, a stylesheet, Prometheus text) that no
 * browser renders as a document: it gets the OWASP REST set that matters there — `nosniff` so
 * nothing is sniffed into HTML or script, and a CSP that loads nothing and cannot be framed.
 * Helmet's other headers only act on documents (HSTS is learnt from the HTML pages). On the hot
 * path this is 3 headers instead of 12: less to validate and write per response, ~700 fewer
 * bytes for every client to parse (ADR 0008).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy':
    "default-src 'self';base-uri 'self';font-src 'self' data:;form-action 'self';frame-ancestors 'self';" +
    "img-src 'self' data:;object-src 'none';script-src 'self';script-src-attr 'none';style-src 'self' 'unsafe-inline'",
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'SAMEORIGIN',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
});

/** The headers of every response that is not an HTML page. */
export const API_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': "default-src 'none';frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
});

/** Which set a response gets, from its content type. */
export function securityHeadersFor(contentType: unknown): Readonly<Record<string, string>> {
  return typeof contentType === 'string' && contentType.startsWith('text/html')
    ? SECURITY_HEADERS
    : API_SECURITY_HEADERS;
}
