import fc from 'fast-check';
import { classifyOutcome, classifyStatusCode as gatewayStatusClass } from '../../../src/reporting/outcome-classifier';
import { ERROR_CORPUS } from '../../../test/fixtures/error-corpus';
import { classifyError } from './outcome';
import { classifyReport, classifyStatusCode } from './outcome-rules';

/**
 * The SDK classifies with a copy of the gateway's rules (it may not import the gateway): the
 * gateway's own corpus of real error strings must get the same class from both, whether it is
 * read as a report or thrown by `fn` as an error.
 */
describe("the SDK's copy of the gateway's outcome rules", () => {
  it.each(ERROR_CORPUS.map((c) => [c.source, c.report.errorMessage ?? c.report.errorType ?? '', c] as const))(
    '%s: %s',
    (_source, _text, corpusCase) => {
      const gateway = classifyOutcome(corpusCase.report);
      expect(gateway).toBe(corpusCase.expected);
      expect(classifyReport(corpusCase.report)).toBe(gateway);

      // The same failure thrown by `fn`: an error with that message, class name and status.
      const { errorMessage, errorType, statusCode } = corpusCase.report;
      const error = Object.assign(new Error(errorMessage ?? ''), {
        ...(errorType === undefined ? {} : { name: errorType }),
        ...(statusCode === undefined ? {} : { status: statusCode }),
      });
      const classified = classifyError(error, { callerAborted: false });
      expect(classified.outcome).toBe(gateway);
      // What the SDK reports is classified the same by the gateway.
      const { outcome, retryAfterMs: _retry, ...reported } = classified;
      expect(classifyOutcome({ success: false, ...reported })).toBe(outcome);
    },
  );

  it('agrees with the gateway on any mix of the corpus fields, whichever field disagrees with which', () => {
    const types = [...new Set(ERROR_CORPUS.flatMap((c) => c.report.errorType ?? []))];
    const messages = [...new Set(ERROR_CORPUS.flatMap((c) => c.report.errorMessage ?? []))];
    fc.assert(
      fc.property(
        fc.option(fc.constantFrom(...types), { nil: undefined }),
        fc.option(fc.integer({ min: 100, max: 600 }), { nil: undefined }),
        fc.option(
          fc.array(fc.constantFrom(...messages), { minLength: 1, maxLength: 3 }).map((parts) => parts.join(': ')),
          { nil: undefined },
        ),
        (errorType, statusCode, errorMessage) => {
          const report = {
            success: false,
            ...(errorType === undefined ? {} : { errorType }),
            ...(statusCode === undefined ? {} : { statusCode }),
            ...(errorMessage === undefined ? {} : { errorMessage }),
          };
          expect(classifyReport(report)).toBe(classifyOutcome(report));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('classifies every status code alike', () => {
    for (let status = 0; status <= 700; status++) expect(classifyStatusCode(status)).toBe(gatewayStatusClass(status));
  });

  it('agrees on the errors the OpenAI and Anthropic SDKs throw', () => {
    const sdkErrors: [name: string, status: number | undefined, message: string][] = [
      ['BadRequestError', 400, '400 Invalid value for "model"'],
      ['AuthenticationError', 401, '401 Incorrect API key provided'],
      ['PermissionDeniedError', 403, '403 Project does not have access'],
      ['NotFoundError', 404, '404 The model does not exist'],
      ['ConflictError', 409, '409 Conflict'],
      ['UnprocessableEntityError', 422, '422 Unprocessable'],
      ['RateLimitError', 429, '429 Rate limit reached'],
      ['InternalServerError', 500, '500 The server had an error'],
      ['InternalServerError', 529, '529 {"type":"error","error":{"type":"overloaded_error"}}'],
      ['APIConnectionError', undefined, 'Connection error.'],
      ['APIConnectionTimeoutError', undefined, 'Request timed out.'],
      ['APIUserAbortError', undefined, 'Request was aborted.'],
    ];
    for (const [name, status, message] of sdkErrors) {
      const error = Object.assign(new Error(message), { name, ...(status === undefined ? {} : { status }) });
      const { outcome, retryAfterMs: _retry, ...reported } = classifyError(error, { callerAborted: false });
      expect([name, classifyOutcome({ success: false, ...reported })]).toEqual([name, outcome]);
    }
  });
});
