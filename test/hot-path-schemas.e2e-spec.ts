import { buildOpenApiDocument } from '../src/common/swagger';
import { reportResultSchema } from '../src/reporting/dto/report-result.dto';
import { selectInstanceSchema } from '../src/selection/dto/select-instance.dto';
import { createTestApp, type TestApp } from './utils/test-app';

interface JsonSchema {
  required?: readonly string[];
  properties?: Record<string, { enum?: readonly unknown[]; type?: unknown; $ref?: string; allOf?: unknown[] }>;
}

/**
 * The hot-path bodies are validated by hand-written JSON schemas (ajv) but documented by DTO
 * classes: this keeps the two from drifting — same properties, same required ones, same enums.
 */
describe('hot-path JSON schemas match the OpenAPI document', () => {
  let gateway: TestApp;
  let components: Record<string, JsonSchema>;

  beforeAll(async () => {
    gateway = await createTestApp();
    components = buildOpenApiDocument(gateway.app).components?.schemas as Record<string, JsonSchema>;
  });
  afterAll(() => gateway.close());

  it.each([
    ['SelectInstanceDto', selectInstanceSchema as JsonSchema],
    ['ReportResultDto', reportResultSchema as JsonSchema],
  ])('%s', (name, schema) => {
    const documented = components[name];
    expect(documented).toBeDefined();
    expect(Object.keys(documented.properties ?? {}).sort()).toEqual(Object.keys(schema.properties ?? {}).sort());
    expect([...(documented.required ?? [])].sort()).toEqual([...(schema.required ?? [])].sort());
    for (const [property, definition] of Object.entries(schema.properties ?? {})) {
      const enumValues = definition.enum?.filter((value) => value !== null);
      if (enumValues) expect(documented.properties?.[property]?.enum).toEqual(enumValues);
    }
  });
});
