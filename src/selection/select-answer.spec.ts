import fastJson from 'fast-json-stringify';
import type { SuccessEnvelope } from '../common/envelope';
import type { SelectedInstanceDto } from './dto/select-instance.dto';
import { SELECT_ANSWER_SCHEMA } from './hot-routes';
import { SelectAnswerWriter } from './select-answer';

/** What Fastify's route serializer writes for the same answer. */
const bySchema = fastJson(SELECT_ANSWER_SCHEMA);

function answer(overrides: Partial<SelectedInstanceDto> = {}): SuccessEnvelope<SelectedInstanceDto> {
  return {
    code: 200,
    message: 'success',
    data: {
      id: 'a'.repeat(32),
      projectId: 'b'.repeat(32),
      userId: null,
      apiIdentifier: 'gpt-4o',
      apiType: 'MODEL',
      businessId: 'azure-east',
      routingParams: { weight: 3, priority: 1, region: 'eu' },
      status: 'ACTIVE',
      metadata: null,
      endpoint: null,
      createdAt: '2026-12-07T01:00:00.000Z',
      updatedAt: '2026-12-07T01:00:00.000Z',
      selectionId: 'c'.repeat(32),
      strategy: 'smart',
      tier: 0,
      degraded: false,
      fallbackUsed: false,
      fallbackFrom: null,
      affinityBound: false,
      ...overrides,
    },
    timestamp: 1_796_606_191_491,
  };
}

describe('SelectAnswerWriter: the select answer written as text', () => {
  it.each([
    ['the usual answer', {}],
    [
      'every nullable field set',
      { userId: 'user-1', metadata: { team: 'x', n: [1, 2] }, endpoint: 'https://e.example' },
    ],
    [
      'a fallback, degraded, bound to a session',
      { fallbackUsed: true, fallbackFrom: 'gpt-4o', degraded: true, affinityBound: true, tier: 3 },
    ],
    [
      'strings that need escaping',
      { businessId: 'quote " backslash \\ tab \t nl \n ☃ \u0001', apiIdentifier: '</script>' },
    ],
    ['a custom strategy name', { strategy: 'team-a/canary' }],
    ['a selection id that is not lowercase hex', { selectionId: 'Sel_"1\\ü' }],
    ['a fractional tier', { tier: 1.5 }],
  ])('writes %s as the schema serializer does', (_name, overrides) => {
    const writer = new SelectAnswerWriter();
    const envelope = answer(overrides);
    const text = writer.write(envelope);
    expect(text).toBe(bySchema(envelope));
    expect(JSON.parse(text!)).toEqual(envelope);
    // Again, from the kept fragment; and a millisecond later.
    expect(writer.write(envelope)).toBe(text);
    const later = { ...envelope, timestamp: envelope.timestamp + 1 };
    expect(writer.write(later)).toBe(bySchema(later));
  });

  it('writes a changed record anew: a new value in any record field', () => {
    const writer = new SelectAnswerWriter();
    writer.write(answer());
    for (const change of [
      { routingParams: { weight: 1 } },
      { status: 'INACTIVE' },
      { metadata: { a: 1 } },
      { updatedAt: '2026-12-07T02:00:00.000Z' },
      { endpoint: 'https://new.example' },
      { projectId: 'd'.repeat(32) },
      { userId: 'user-2' },
      { apiIdentifier: 'gpt-4o-mini' },
      { apiType: 'SMS' },
      { businessId: 'azure-west' },
      { createdAt: '2026-12-07T00:00:00.000Z' },
    ] as Partial<SelectedInstanceDto>[]) {
      const envelope = answer(change);
      expect(JSON.parse(writer.write(envelope)!)).toEqual(envelope);
    }
  });

  it('leaves answers it does not know to the schema serializer', () => {
    const writer = new SelectAnswerWriter();
    expect(writer.write(answer({ explain: { candidates: [] } as never }))).toBeUndefined();
    expect(writer.write(answer({ tier: Number.POSITIVE_INFINITY }))).toBeUndefined();
    expect(writer.write({ code: 200, message: 'success', timestamp: 1 } as never)).toBeUndefined();
  });
});
