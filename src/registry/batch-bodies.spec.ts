import type { AppConfig } from '../config/app-config';
import type { FieldError, GatewayError } from '../common/gateway-error';
import { BatchBodies } from './batch-bodies';

const bodies = new BatchBodies({ limits: { instancesPerProject: 3 } } as AppConfig);
const item = (businessId: string) => ({ apiIdentifier: 'gpt-4o', apiType: 'MODEL', businessId });

async function refusal(work: Promise<unknown>): Promise<GatewayError> {
  try {
    await work;
  } catch (error) {
    return error as GatewayError;
  }
  throw new Error('expected a refusal');
}

describe('BatchBodies', () => {
  it('returns the items as DTOs, unknown properties stripped', async () => {
    const [dto] = await bodies.creations({ instances: [{ ...item('a'), extra: true }] });
    expect(dto).toEqual(item('a'));
    expect(dto).not.toHaveProperty('extra');
  });

  it.each([
    ['no body', undefined, 'instances must be an array'],
    ['not an array', { instances: {} }, 'instances must be an array'],
    ['empty', { instances: [] }, 'instances must contain at least 1 elements'],
    ['more than a project may hold', { instances: [1, 2, 3, 4].map((n) => item(`b${n}`)) }, 'no more than 3'],
  ])('refuses %s on instances', async (_name, body, message) => {
    const error = await refusal(bodies.creations(body));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.details).toEqual([{ field: 'instances', message: expect.stringContaining(message) }]);
  });

  it('names every failing field of every item, items that are not objects included', async () => {
    const error = await refusal(bodies.creations({ instances: [item('ok'), { ...item('x'), apiType: 'ROCKET' }, 7] }));
    expect((error.details as readonly FieldError[]).map((d) => d.field)).toEqual([
      'instances.1.apiType',
      'instances.2',
    ]);
  });

  it('checks keys the same way', async () => {
    expect(await bodies.keys({ instances: [{ apiType: 'MODEL', businessId: 'a' }] })).toHaveLength(1);
    const error = await refusal(bodies.keys({ instances: [{ apiType: 'MODEL' }] }));
    expect(error.details).toEqual([{ field: 'instances.0.businessId', message: expect.any(String) }]);
  });
});
