import { ERROR_CORPUS } from '../../test/fixtures/error-corpus';
import { FAILURE_CLASSES, OUTCOME_CLASSES, type OutcomeClass } from '../common/outcome';
import { classifyMessage, classifyOutcome, classifyStatusCode, isFailure } from './outcome-classifier';

describe('classifyOutcome', () => {
  it('has a corpus large enough to mean something', () => {
    expect(ERROR_CORPUS.length).toBeGreaterThanOrEqual(40);
  });

  it.each(ERROR_CORPUS.map((c) => [c.source, c.report.errorType ?? c.report.errorMessage ?? '', c]))(
    '%s: %s',
    (_source, _text, corpusCase) => {
      expect(classifyOutcome(corpusCase.report)).toBe(corpusCase.expected);
    },
  );

  it('trusts success: true over a contradictory status code or message', () => {
    expect(classifyOutcome({ success: true, statusCode: 503, errorMessage: 'socket hang up' })).toBe('SUCCESS');
  });

  it('prefers errorType over statusCode, and statusCode over the message', () => {
    expect(classifyOutcome({ success: false, errorType: 'timeout', statusCode: 429 })).toBe('TIMEOUT');
    expect(classifyOutcome({ success: false, statusCode: 401, errorMessage: 'read ECONNRESET' })).toBe('AUTH_ERROR');
  });

  it('reads an unrecognised errorType as text only after the status code and the message', () => {
    expect(classifyOutcome({ success: false, errorType: 'ECONNREFUSED', statusCode: 429 })).toBe('RATE_LIMITED');
    expect(classifyOutcome({ success: false, errorType: 'ECONNREFUSED', errorMessage: 'Request timed out.' })).toBe(
      'TIMEOUT',
    );
    expect(classifyOutcome({ success: false, errorType: 'ECONNREFUSED' })).toBe('SERVER_ERROR');
  });

  it('accepts every class name as errorType, in any case, except the uninformative SUCCESS and UNKNOWN', () => {
    const informative = OUTCOME_CLASSES.filter((c) => c !== 'SUCCESS' && c !== 'UNKNOWN');
    for (const outcome of informative) {
      expect(classifyOutcome({ success: false, errorType: outcome.toLowerCase() })).toBe(outcome);
    }
    expect(classifyOutcome({ success: false, errorType: 'SUCCESS' })).toBe('UNKNOWN');
  });

  describe('errorType spellings sent by SDKs and exception handlers', () => {
    const byErrorType = (errorType: string): OutcomeClass => classifyOutcome({ success: false, errorType });

    it('splits an exception name that starts with an acronym (OpenAI SDK APIConnectionError)', () => {
      expect(byErrorType('APIConnectionError')).toBe('SERVER_ERROR');
    });

    it('splits a CamelCase exception name into its words (NotFoundError, InternalError)', () => {
      expect(byErrorType('NotFoundError')).toBe('CLIENT_ERROR');
      expect(byErrorType('InternalError')).toBe('SERVER_ERROR');
    });

    it('reads space-separated status names as their snake_case form (gRPC and HTTP reason phrases)', () => {
      expect(byErrorType('Internal Error')).toBe('SERVER_ERROR');
      expect(byErrorType('invalid argument')).toBe('CLIENT_ERROR');
      expect(byErrorType('Upstream Error')).toBe('SERVER_ERROR');
    });

    it('treats a run of spaces or punctuation between words as one separator', () => {
      expect(byErrorType('Internal  Error')).toBe('SERVER_ERROR');
      expect(byErrorType('invalid -- argument')).toBe('CLIENT_ERROR');
    });

    it('ignores punctuation and whitespace around the name (a log line, a bracketed tag)', () => {
      expect(byErrorType(' internal_error\n')).toBe('SERVER_ERROR');
      expect(byErrorType('[UPSTREAM_ERROR]')).toBe('SERVER_ERROR');
    });
  });
});

describe('classifyStatusCode', () => {
  const cases: Array<[number, OutcomeClass | undefined]> = [
    [429, 'RATE_LIMITED'],
    [529, 'RATE_LIMITED'],
    [408, 'TIMEOUT'],
    [504, 'TIMEOUT'],
    [524, 'TIMEOUT'], // Cloudflare: the origin did not answer in time
    [401, 'AUTH_ERROR'],
    [403, 'AUTH_ERROR'],
    [400, 'CLIENT_ERROR'],
    [404, 'CLIENT_ERROR'],
    [422, 'CLIENT_ERROR'],
    [499, 'CLIENT_ERROR'],
    [500, 'SERVER_ERROR'],
    [502, 'SERVER_ERROR'],
    [503, 'SERVER_ERROR'],
    [599, 'SERVER_ERROR'],
    [200, undefined],
    [302, undefined],
    [600, undefined],
    [503.5, undefined],
  ];
  it.each(cases)('%d → %s', (code, expected) => {
    expect(classifyStatusCode(code)).toBe(expected);
  });
});

describe('classifyMessage', () => {
  it('does not read an address, a port or a version as a status code', () => {
    expect(classifyMessage('dial tcp 10.0.0.1:443 failed')).toBeUndefined();
    expect(classifyMessage('client v404.2 crashed')).toBeUndefined();
    expect(classifyMessage('upstream 10.0.404.1 gone')).toBeUndefined();
  });

  it('falls back to a lone status code anywhere in the text', () => {
    expect(classifyMessage('upstream responded 502')).toBe('SERVER_ERROR');
    expect(classifyMessage('got 422 from backend')).toBe('CLIENT_ERROR');
  });

  it('only scans the head of very long bodies', () => {
    expect(classifyMessage(`${'x'.repeat(5000)} rate limit`)).toBeUndefined();
    expect(classifyMessage(`rate limit ${'x'.repeat(5000)}`)).toBe('RATE_LIMITED');
  });
});

describe('isFailure', () => {
  it.each(OUTCOME_CLASSES.map((c) => [c]))('%s follows FAILURE_CLASSES', (outcome) => {
    expect(isFailure(outcome)).toBe(FAILURE_CLASSES.has(outcome));
  });

  it('counts only backend faults', () => {
    expect(OUTCOME_CLASSES.filter(isFailure)).toEqual(['SERVER_ERROR', 'TIMEOUT', 'UNKNOWN']);
  });
});
