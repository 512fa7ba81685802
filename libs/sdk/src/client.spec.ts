import { createTestApp, type TestApp } from '../../../test/utils/test-app';
import { createGatewayApi } from './index';

describe('createGatewayApi against the real gateway', () => {
  let gateway: TestApp;
  let baseUrl: string;

  beforeAll(async () => {
    gateway = await createTestApp();
    await gateway.app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = (await gateway.app.getUrl()).replace('[::1]', '127.0.0.1');
  });
  afterAll(() => gateway.close());

  it('reads the typed health envelope', async () => {
    const api = createGatewayApi({ baseUrl });
    const { data, response } = await api.GET('/api/health');
    expect(response.status).toBe(200);
    expect(data?.data.status).toBe('UP');
    expect(data?.code).toBe(200);
  });
});
