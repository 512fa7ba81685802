import type { OpenAPIObject } from '@nestjs/swagger';
import type { AppConfig } from '../config/app-config';

/** A bound an operator configures, read from the running configuration. */
type ConfiguredBound = (config: AppConfig) => number;

interface BoundProperty {
  readonly schema: string;
  readonly property: string;
  readonly bound: ConfiguredBound;
}

const boundProperties: BoundProperty[] = [];

/**
 * Documents an array property's `maxItems` as the configured limit the server enforces (e.g.
 * `GATEWAY_MAX_INSTANCES_PER_PROJECT`), so the OpenAPI document of a running gateway states its
 * own limit. Pair it with an `@ApiProperty({ maxItems })` giving the default. The component is
 * named after the class, as `@nestjs/swagger` names it.
 *
 * @example
 * @ApiProperty({ type: [CreateInstanceDto], maxItems: 5000 })
 * @ApiMaxItemsFromConfig((config) => config.limits.instancesPerProject)
 * instances!: CreateInstanceDto[];
 */
export function ApiMaxItemsFromConfig(bound: ConfiguredBound): PropertyDecorator {
  return (target, property) => {
    boundProperties.push({ schema: target.constructor.name, property: String(property), bound });
  };
}

/** Writes the configured bounds into a generated document (see {@link ApiMaxItemsFromConfig}). */
export function applyConfiguredBounds(document: OpenAPIObject, config: AppConfig): void {
  for (const { schema, property, bound } of boundProperties) {
    const component = document.components?.schemas?.[schema];
    const target = component && 'properties' in component ? component.properties?.[property] : undefined;
    if (target !== undefined && !('$ref' in target)) target.maxItems = bound(config);
  }
}
