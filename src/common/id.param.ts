import { Param, type PipeTransform } from '@nestjs/common';
import { validationError } from './validation';
import { ID_PATTERN } from './ids';

class IdPipe implements PipeTransform<string, string> {
  constructor(private readonly name: string) {}

  transform(value: string): string {
    if (!ID_PATTERN.test(value)) {
      throw validationError([{ field: this.name, message: `${this.name} must be 32 lowercase hex characters` }]);
    }
    return value;
  }
}

/**
 * A path parameter holding an id (32 lowercase hex characters); anything else is a 400 naming it.
 *
 * @example
 * @Get(':id') get(@IdParam() id: string) { … }
 */
export const IdParam = (name = 'id'): ParameterDecorator => Param(name, new IdPipe(name));
