import { Body, Controller, Delete, Get, HttpCode, Inject, Patch, Post, Query } from '@nestjs/common';
import { ApiBody, ApiTags } from '@nestjs/swagger';
import { Authenticated } from '../auth/auth.decorators';
import { ApiEnvelope, ApiErrors } from '../common/api-envelope.decorator';
import { Clock, InjectClock } from '../common/clock';
import { Enveloped } from '../common/envelope.interceptor';
import { IdParam } from '../common/id.param';
import { newOrderedId } from '../common/ids';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import {
  CreateWebhookDto,
  CreatedWebhookDto,
  UpdateWebhookDto,
  WebhookDeliveryDto,
  WebhookDto,
  WebhookPageDto,
  WebhookQueryDto,
  toWebhookDto,
} from './dto/webhook.dto';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhooksService } from './webhooks.service';

/** Webhooks that receive alerts (docs/alerts.md), per project or global (admin JWT). */
@ApiTags('admin: webhooks')
@Authenticated({ admin: true })
@Enveloped()
@Controller('admin/webhooks')
export class AdminWebhooksController {
  constructor(
    private readonly webhooks: WebhooksService,
    private readonly dispatcher: WebhookDispatcher,
    @InjectClock() private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Creates a webhook. Its `secret` (the HMAC key of `X-Gateway-Signature`) is in this answer
   * only; later answers show `secretPrefix`. The answer has the full `url` (`urlMasked: false`);
   * listings and reads mask it.
   */
  @Post()
  @HttpCode(200)
  @ApiBody({
    type: CreateWebhookDto,
    examples: {
      global: {
        summary: 'A global webhook for write-behind failures',
        value: { url: 'https://ops.example.com/hooks/gateway', events: ['write-behind.failed'] },
      },
      slack: {
        summary: 'Breaker changes to Slack, created paused',
        description: 'Enable it with PATCH `{ "enabled": true }` once the Slack URL is right.',
        value: {
          url: 'https://hooks.slack.com/services/T000/B000/XXXXXXXX',
          events: ['breaker.transition'],
          format: 'slack',
          enabled: false,
        },
      },
    },
  })
  @ApiEnvelope(CreatedWebhookDto)
  @ApiErrors('VALIDATION_FAILED')
  async create(@Body() body: CreateWebhookDto): Promise<CreatedWebhookDto> {
    const issued = await this.webhooks.create(body);
    return { ...toWebhookDto(issued.entity, { full: true }), secret: issued.secret };
  }

  /** Webhooks, oldest first; `projectId` keeps one project's. URLs masked (`urlMasked: true`). */
  @Get()
  @ApiEnvelope(WebhookPageDto)
  @ApiErrors('VALIDATION_FAILED')
  async list(@Query() query: WebhookQueryDto): Promise<WebhookPageDto> {
    const page = await this.webhooks.list(query);
    return { ...page, items: page.items.map((entity) => toWebhookDto(entity)) };
  }

  /** One webhook, its URL masked (`urlMasked: true`). */
  @Get(':id')
  @ApiEnvelope(WebhookDto)
  @ApiErrors('VALIDATION_FAILED', 'NOT_FOUND')
  async get(@IdParam() id: string): Promise<WebhookDto> {
    return toWebhookDto(await this.webhooks.get(id));
  }

  /**
   * Changes the fields given; `projectId: null` makes it global (null is refused for the others).
   * The answer has the full `url` (`urlMasked: false`).
   */
  @Patch(':id')
  @ApiBody({
    type: UpdateWebhookDto,
    examples: {
      pause: {
        summary: 'Pause a webhook',
        description: 'Name a webhook that exists; another id answers 404 NOT_FOUND.',
        value: { enabled: false },
      },
    },
  })
  @ApiEnvelope(WebhookDto)
  @ApiErrors('VALIDATION_FAILED', 'NOT_FOUND')
  async update(@IdParam() id: string, @Body() body: UpdateWebhookDto): Promise<WebhookDto> {
    return toWebhookDto(await this.webhooks.update(id, body), { full: true });
  }

  @Delete(':id')
  @ApiEnvelope()
  @ApiErrors('VALIDATION_FAILED', 'NOT_FOUND')
  async delete(@IdParam() id: string): Promise<void> {
    await this.webhooks.delete(id);
  }

  /** A new secret, shown in this answer only; the old one stops signing at once. The URL is masked. */
  @Post(':id/rotate-secret')
  @HttpCode(200)
  @ApiEnvelope(CreatedWebhookDto)
  @ApiErrors('VALIDATION_FAILED', 'NOT_FOUND')
  async rotate(@IdParam() id: string): Promise<CreatedWebhookDto> {
    const issued = await this.webhooks.rotate(id);
    return { ...toWebhookDto(issued.entity), secret: issued.secret };
  }

  /**
   * Sends a `webhook.test` delivery now (one attempt, signed like every delivery, even when the
   * webhook is disabled) and answers how it went; it is recorded as the last delivery.
   */
  @Post(':id/test')
  @HttpCode(200)
  @ApiEnvelope(WebhookDeliveryDto)
  @ApiErrors('VALIDATION_FAILED', 'NOT_FOUND')
  async test(@IdParam() id: string): Promise<WebhookDeliveryDto> {
    const webhook = await this.webhooks.get(id);
    const at = this.clock.now();
    const result = await this.dispatcher.sendNow(webhook, {
      id: newOrderedId(at),
      type: 'webhook.test',
      projectId: webhook.projectId,
      occurredAt: at,
      node: this.config.nodeId,
      data: { webhookId: webhook.id },
    });
    return {
      at: result.at.toISOString(),
      status: result.status,
      ok: result.ok,
      ...(result.error === undefined ? {} : { error: result.error }),
    };
  }
}
