import { Param, type PipeTransform } from '@nestjs/common';
import { validationError } from '../common/validation';
import { API_TYPES, type ApiType } from './instance-record';

class ApiTypePipe implements PipeTransform<string, ApiType> {
  transform(value: string): ApiType {
    if ((API_TYPES as readonly string[]).includes(value)) return value as ApiType;
    throw validationError([{ field: 'apiType', message: `apiType must be one of ${API_TYPES.join(', ')}` }]);
  }
}

/** The `{apiType}` path parameter, checked against the enum (400 naming `apiType` otherwise). */
export const ApiTypeParam = (): ParameterDecorator => Param('apiType', new ApiTypePipe());
