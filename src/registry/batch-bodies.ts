import { Inject, Injectable } from '@nestjs/common';
import { type ClassConstructor, plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { forEachInChunks } from '../common/chunks';
import type { FieldError } from '../common/gateway-error';
import { flattenValidationErrors, reservedKeyErrors, validationError } from '../common/validation';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { CreateInstanceDto, InstanceKeyDto } from './dto/instance.dto';

/** Items validated between two turns of the event loop (~30 ms of class-validator at most). */
const ITEMS_PER_TURN = 100;

/**
 * The bodies of the batch routes (`{ instances: [...] }`), checked here rather than by the global
 * validation pipe: a batch may hold as many instances as the project may (AgentX registers every
 * model of every user at once), and class-validator takes ~0.3–0.5 ms per instance, so the items
 * are validated in chunks with the event loop free in between — other tenants' selects are not
 * held for the whole batch. The array itself is checked first, so an oversized batch costs
 * nothing. Same rules and answers as the pipe: unknown properties are stripped ([compat]), every
 * failing field is listed as `instances.<i>.<field>`.
 */
@Injectable()
export class BatchBodies {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** At most as many items as a project may hold (`GATEWAY_MAX_INSTANCES_PER_PROJECT`). */
  get maxItems(): number {
    return this.config.limits.instancesPerProject;
  }

  /** The instances of `POST /api/instances/batch`. */
  creations(body: unknown): Promise<CreateInstanceDto[]> {
    return this.items(body, CreateInstanceDto);
  }

  /** The keys of `DELETE /api/instances/batch`. */
  keys(body: unknown): Promise<InstanceKeyDto[]> {
    return this.items(body, InstanceKeyDto);
  }

  private async items<T extends object>(body: unknown, type: ClassConstructor<T>): Promise<T[]> {
    const items = this.arrayOf(body);
    const valid: T[] = [];
    const errors: FieldError[] = [];
    await forEachInChunks(items, ITEMS_PER_TURN, (item, i) => {
      const field = `instances.${i}`;
      if (typeof item !== 'object' || item === null || Array.isArray(item)) {
        errors.push({ field, message: `${field} must be an object` });
        return;
      }
      const reserved = reservedKeyErrors(item, field);
      if (reserved.length > 0) {
        errors.push(...reserved);
        return;
      }
      const dto = plainToInstance(type, item);
      const problems = validateSync(dto, {
        whitelist: true,
        forbidNonWhitelisted: false,
        validationError: { target: false, value: false },
      });
      if (problems.length > 0) errors.push(...flattenValidationErrors(problems, field));
      else valid.push(dto);
    });
    if (errors.length > 0) throw validationError(errors);
    return valid;
  }

  private arrayOf(body: unknown): readonly unknown[] {
    const items = typeof body === 'object' && body !== null ? (body as { instances?: unknown }).instances : undefined;
    const problem = !Array.isArray(items)
      ? 'instances must be an array'
      : items.length === 0
        ? 'instances must contain at least 1 elements'
        : items.length > this.maxItems
          ? `instances must contain no more than ${this.maxItems} elements`
          : undefined;
    if (problem !== undefined) throw validationError([{ field: 'instances', message: problem }]);
    return items as readonly unknown[];
  }
}
