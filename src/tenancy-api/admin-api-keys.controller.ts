import { Body, Controller, Delete, Get, HttpCode, Post, Put, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Authenticated } from '../auth/auth.decorators';
import { Enveloped } from '../common/envelope.interceptor';
import { ApiEnvelope, ApiErrors } from '../common/api-envelope.decorator';
import { IdParam } from '../common/id.param';
import { ApiKeyAuthenticator } from '../tenancy/api-key-authenticator';
import { ApiKeysService } from '../tenancy/api-keys.service';
import {
  ApiKeyDto,
  ApiKeyPageDto,
  ApiKeyQueryDto,
  ApiKeyStatusDto,
  ApiKeyValidationDto,
  CreateApiKeyDto,
  CreatedApiKeyDto,
  UpdateApiKeyDto,
  ValidateApiKeyQueryDto,
  toApiKeyDto,
} from '../tenancy/dto/api-key.dto';

@ApiTags('admin: api keys')
@Authenticated({ admin: true })
@Enveloped()
@Controller('admin/apikeys')
export class AdminApiKeysController {
  constructor(
    private readonly keys: ApiKeysService,
    private readonly authenticator: ApiKeyAuthenticator,
  ) {}

  /** Issues a key: bound and ACTIVE with `projectId`, else UNUSED. `apiKeyValue` is shown this once. */
  @Post()
  @HttpCode(200)
  @ApiEnvelope(CreatedApiKeyDto)
  @ApiErrors('VALIDATION_FAILED', 'PROJECT_NOT_FOUND')
  async create(@Body() body: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    const { projectId, ...rest } = body;
    const issued = await this.keys.issue(rest, projectId);
    return { ...toApiKeyDto(issued.entity), apiKeyValue: issued.secret };
  }

  /** Keys, masked. */
  @Get()
  @ApiEnvelope(ApiKeyPageDto)
  @ApiErrors('VALIDATION_FAILED')
  async list(@Query() query: ApiKeyQueryDto): Promise<ApiKeyPageDto> {
    const page = await this.keys.list(query);
    return { ...page, items: page.items.map(toApiKeyDto) };
  }

  /** Whether a key would authenticate now, and if not, the error code it would get. */
  @Get('validate')
  @ApiEnvelope(ApiKeyValidationDto)
  @ApiErrors('VALIDATION_FAILED')
  async validate(@Query() query: ValidateApiKeyQueryDto): Promise<ApiKeyValidationDto> {
    const result = await this.authenticator.refusal(query.apiKey);
    return {
      valid: result.code === undefined,
      status: result.status,
      projectId: result.projectId,
      reason: result.code,
    };
  }

  @Get(':id')
  @ApiEnvelope(ApiKeyDto)
  @ApiErrors('API_KEY_NOT_FOUND')
  async get(@IdParam() id: string): Promise<ApiKeyDto> {
    return toApiKeyDto(await this.keys.get(id));
  }

  @Put(':id')
  @ApiEnvelope(ApiKeyDto)
  @ApiErrors('VALIDATION_FAILED', 'API_KEY_NOT_FOUND')
  async update(@IdParam() id: string, @Body() body: UpdateApiKeyDto): Promise<ApiKeyDto> {
    return toApiKeyDto(await this.keys.update(id, body));
  }

  /** REVOKED and EXPIRED take effect on the very next request. */
  @Put(':id/status')
  @ApiEnvelope(ApiKeyDto)
  @ApiErrors('VALIDATION_FAILED', 'API_KEY_NOT_FOUND', 'API_KEY_NOT_BOUND')
  async setStatus(@IdParam() id: string, @Body() body: ApiKeyStatusDto): Promise<ApiKeyDto> {
    return toApiKeyDto(await this.keys.setStatus(id, body.status));
  }

  /** A new secret for the same key; the old one stops working at once. */
  @Post(':id/rotate')
  @HttpCode(200)
  @ApiEnvelope(CreatedApiKeyDto)
  @ApiErrors('API_KEY_NOT_FOUND')
  async rotate(@IdParam() id: string): Promise<CreatedApiKeyDto> {
    const issued = await this.keys.rotate(id);
    return { ...toApiKeyDto(issued.entity), apiKeyValue: issued.secret };
  }

  @Delete(':id')
  @ApiEnvelope()
  @ApiErrors('API_KEY_NOT_FOUND')
  async delete(@IdParam() id: string): Promise<void> {
    await this.keys.delete(id);
  }
}
