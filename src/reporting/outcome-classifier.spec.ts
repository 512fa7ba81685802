import { ERROR_CORPUS } from '../../test/fixtures/error-corpus';
import { FAILURE_CLASSES, OUTCOME_CLASSES, type OutcomeClass } from '../common/outcome';
import { classifyMessage, classifyOutcome, classifyStatusCode, isFailure } from './outcome-classifier';

describe('classifyOutcome', () => {
  it('has a corpus large enough to mean something', () => {
    expect(ERROR_CORPUS.length).toBeGreaterThanOrEqual(40);
  });

  it('covers the Chinese providers AgentX users call, each from a named doc', () => {
    const providers = ['zhipu', 'dashscope', 'qianfan', 'moonshot', 'deepseek', 'minimax', 'ark'];
    for (const provider of providers) {
      const cases = ERROR_CORPUS.filter((c) => c.source.startsWith(provider));
      expect([provider, cases.length >= 8]).toEqual([provider, true]);
      expect(cases.every((c) => c.doc?.startsWith('https://'))).toBe(true);
    }
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

  describe('an account that cannot pay or is shut', () => {
    const arrears = '{"error":{"code":"1113","message":"您的账户已欠费，请充值后重试"}}';

    it('outranks a rate limit however it was given: errorType, status code or a status in the message', () => {
      expect(classifyOutcome({ success: false, errorType: 'RateLimitError', errorMessage: arrears })).toBe(
        'AUTH_ERROR',
      );
      expect(classifyOutcome({ success: false, statusCode: 429, errorMessage: arrears })).toBe('AUTH_ERROR');
      expect(classifyOutcome({ success: false, errorMessage: `Error code: 429, with error text ${arrears}` })).toBe(
        'AUTH_ERROR',
      );
    });

    it('outranks a client error (DashScope answers arrears with 400)', () => {
      expect(classifyOutcome({ success: false, statusCode: 400, errorMessage: 'Arrearage' })).toBe('AUTH_ERROR');
    });

    it('leaves server faults and timeouts alone: the backend failed whatever the account', () => {
      expect(classifyOutcome({ success: false, statusCode: 500, errorMessage: 'insufficient balance' })).toBe(
        'SERVER_ERROR',
      );
      expect(classifyOutcome({ success: false, errorType: 'timeout', errorMessage: 'insufficient balance' })).toBe(
        'TIMEOUT',
      );
    });

    it('is read from the message and from an errorType that names no class, from their heads only', () => {
      expect(classifyOutcome({ success: false, statusCode: 400, errorType: 'Arrearage' })).toBe('AUTH_ERROR');
      expect(classifyOutcome({ success: false, statusCode: 429, errorType: 'AccountOverdueError' })).toBe('AUTH_ERROR');
      expect(classifyOutcome({ success: false, statusCode: 429, errorMessage: `${'x'.repeat(5000)} 欠费` })).toBe(
        'RATE_LIMITED',
      );
      expect(classifyOutcome({ success: false, statusCode: 429, errorType: `${'x'.repeat(5000)}Arrearage` })).toBe(
        'RATE_LIMITED',
      );
    });

    it('does not include a quota "plan and billing" message: DashScope and Gemini send it for a per-minute limit', () => {
      expect(
        classifyOutcome({
          success: false,
          statusCode: 429,
          errorMessage: 'You exceeded your current quota, please check your plan and billing details.',
        }),
      ).toBe('RATE_LIMITED');
    });
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

    it("reads a qualified class name by its own name (Python's module path, Java's package and outer class)", () => {
      expect(byErrorType('zhipuai.core._errors.APIReachLimitError')).toBe('RATE_LIMITED');
      expect(byErrorType('org.springframework.web.client.HttpClientErrorException$TooManyRequests')).toBe(
        'RATE_LIMITED',
      );
      expect(byErrorType('grpc.StatusCode.DEADLINE_EXCEEDED')).toBe('TIMEOUT');
    });

    it('reads a dotted name as a whole before its last part', () => {
      expect(byErrorType('Internal.Error')).toBe('SERVER_ERROR');
      expect(byErrorType('rate.limit')).toBe('RATE_LIMITED');
    });

    it('takes no class from an SDK base class that carries every API error: the status and message decide', () => {
      const qpsLimit = 'api return error, req_id: as-1 code: 18, msg: Open api qps request limit reached';
      expect(classifyOutcome({ success: false, errorType: 'qianfan.errors.APIError', errorMessage: qpsLimit })).toBe(
        'RATE_LIMITED',
      );
      expect(classifyOutcome({ success: false, errorType: 'APIStatusError', statusCode: 402 })).toBe('AUTH_ERROR');
      expect(byErrorType('APIError')).toBe('UNKNOWN');
      // Anthropic's error type still reads as a server error, from its text.
      expect(byErrorType('api_error')).toBe('SERVER_ERROR');
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
    [402, 'AUTH_ERROR'], // Payment Required: DeepSeek's "Insufficient Balance"
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

  it('reads a status after "error code" or "http_code" (Python SDKs) before the words', () => {
    expect(classifyMessage('Error code: 503 - {"error":{"message":"Server Overloaded"}}')).toBe('SERVER_ERROR');
    expect(classifyMessage('Request failed, request_id: r1, http_code: 503 error_name: Throttling')).toBe(
      'SERVER_ERROR',
    );
  });

  it('tells a prompt that is too long (the caller) from a backend that took too long (a timeout)', () => {
    expect(classifyMessage('{"error":{"code":"tokens_too_long","message":"Prompt tokens too long"}}')).toBe(
      'CLIENT_ERROR',
    );
    expect(classifyMessage('The upstream server took too long to respond.')).toBe('TIMEOUT');
  });

  it('does not read a provider business code as a status', () => {
    expect(classifyMessage('error_code: 4001, rate limit reached')).toBe('RATE_LIMITED');
    expect(classifyMessage('{"base_resp":{"status_code":5002,"status_msg":"rate limit"}}')).toBe('RATE_LIMITED');
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
