import type { OpenAPIObject } from '@nestjs/swagger';
import type { AppConfig } from '../config/app-config';
import { ApiMaxItemsFromConfig, applyConfiguredBounds } from './openapi-limits';

class BoundedBody {
  @ApiMaxItemsFromConfig((config) => config.limits.instancesPerProject)
  items!: string[];
}

describe('ApiMaxItemsFromConfig', () => {
  it("writes the running configuration's limit into the component's property", () => {
    const document = {
      components: {
        schemas: { [BoundedBody.name]: { type: 'object', properties: { items: { type: 'array', maxItems: 5 } } } },
      },
    } as unknown as OpenAPIObject;
    applyConfiguredBounds(document, { limits: { instancesPerProject: 1234 } } as AppConfig);
    expect(document.components?.schemas?.[BoundedBody.name]).toMatchObject({
      properties: { items: { maxItems: 1234 } },
    });
  });

  it('leaves a document without the component alone', () => {
    const document = { components: { schemas: {} } } as unknown as OpenAPIObject;
    expect(() => applyConfiguredBounds(document, { limits: { instancesPerProject: 1 } } as AppConfig)).not.toThrow();
  });
});
