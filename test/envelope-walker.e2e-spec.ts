import { INTERCEPTORS_METADATA } from '@nestjs/common/constants';
import { DiscoveryModule, DiscoveryService } from '@nestjs/core';
import { EnvelopeInterceptor } from '../src/common/envelope.interceptor';
import { GatewayController } from '../src/selection/gateway.controller';
import { createTestApp, type TestApp } from './utils/test-app';

/** Controllers that build their envelopes themselves (the hot path, see GatewayController). */
const SELF_ENVELOPING: readonly unknown[] = [GatewayController];

describe('every response is enveloped', () => {
  let gateway: TestApp;
  beforeAll(async () => {
    gateway = await createTestApp({ extra: { imports: [DiscoveryModule] } });
  });
  afterAll(() => gateway.close());

  it('every controller carries @Enveloped(), except the self-enveloping hot path', () => {
    const controllers = gateway.app.get(DiscoveryService).getControllers();
    expect(controllers.length).toBeGreaterThan(5);
    const missing = controllers
      .filter((wrapper) => !SELF_ENVELOPING.includes(wrapper.metatype))
      .filter((wrapper) => {
        const interceptors: unknown = Reflect.getMetadata(INTERCEPTORS_METADATA, wrapper.metatype as object);
        return !(Array.isArray(interceptors) && interceptors.includes(EnvelopeInterceptor));
      })
      .map((wrapper): string => String(wrapper.name));
    expect(missing).toEqual([]);
  });
});
