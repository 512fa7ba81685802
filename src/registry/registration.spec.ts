import type { CreateInstanceDto } from './dto/instance.dto';
import type { ApiInstanceEntity } from './entities/api-instance.entity';
import { applied } from './registration';

const at = new Date(Date.UTC(2026, 0, 1));
const stored: ApiInstanceEntity = {
  id: 'a'.repeat(32),
  projectId: 'b'.repeat(32),
  userId: 'user-1',
  apiIdentifier: 'gpt-4o',
  apiType: 'MODEL',
  businessId: 'model-1',
  routingParamsJson: '{"weight":2}',
  metadataJson: '{"owner":"team-a"}',
  endpoint: 'https://a.example/v1',
  status: 'INACTIVE',
  createdAt: at,
  updatedAt: at,
};
/** What AgentX sends: userId, apiIdentifier, apiType, businessId; every other field null. */
const agentx = (over: Partial<CreateInstanceDto> = {}): CreateInstanceDto => ({
  userId: 'user-1',
  apiIdentifier: 'gpt-4o',
  apiType: 'MODEL',
  businessId: 'model-1',
  ...over,
});

describe('applied: what a registration changes on an existing instance', () => {
  it('the same registration again changes nothing, nulls included', () => {
    expect(applied(stored, agentx())).toBeUndefined();
    expect(
      applied(stored, agentx({ routingParams: null as never, metadata: null as never, endpoint: null as never })),
    ).toBeUndefined();
    expect(applied(stored, agentx({ routingParams: { weight: 2 }, endpoint: 'https://a.example/v1' }))).toBeUndefined();
  });

  it('applies each field given a value, keeps the others and never the status', () => {
    expect(applied(stored, agentx({ apiIdentifier: 'gpt-4o-mini' }))).toMatchObject({
      apiIdentifier: 'gpt-4o-mini',
      routingParamsJson: '{"weight":2}',
      status: 'INACTIVE',
    });
    expect(applied(stored, agentx({ userId: 'user-2' }))?.userId).toBe('user-2');
    expect(applied(stored, agentx({ routingParams: { weight: 3 } }))?.routingParamsJson).toBe('{"weight":3}');
    expect(applied(stored, agentx({ metadata: { owner: 'team-b' } }))?.metadataJson).toBe('{"owner":"team-b"}');
    expect(applied(stored, agentx({ endpoint: 'https://b.example/v1' }))?.endpoint).toBe('https://b.example/v1');
  });

  it("an old row's empty routing parameters and JSON-null metadata read as {} and none: unchanged", () => {
    const old = { ...stored, routingParamsJson: '', metadataJson: 'null', endpoint: null };
    expect(applied(old, agentx())).toBeUndefined();
    expect(applied(old, agentx({ routingParams: {} }))).toBeUndefined();
  });
});
