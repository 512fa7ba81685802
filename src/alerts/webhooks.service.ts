import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { GatewayError } from '../common/gateway-error';
import { newId } from '../common/ids';
import { type Page, skipOf } from '../common/pagination';
import { validationError } from '../common/validation';
import { DATABASE_MIGRATED } from '../database/database.module';
import { EventBus, InjectEventBus } from '../state/event-bus';
import { ProjectsService } from '../tenancy/projects.service';
import { type CreateWebhookDto, type UpdateWebhookDto, type WebhookQueryDto, maskWebhookUrl } from './dto/webhook.dto';
import { newWebhookSecret } from './webhook-signature';
import { type WebhookEntity as Webhook, WebhookEntity, type WebhookEvent } from './webhook.entity';

/** How one delivery attempt went, as recorded on its webhook. */
export interface DeliveryResult {
  readonly at: Date;
  readonly status: number | null;
  readonly ok: boolean;
  readonly error?: string;
}

/** A webhook and its secret, which is shown this once. */
export interface IssuedWebhook {
  readonly entity: Webhook;
  readonly secret: string;
}

const MAX_ERROR = 300;

/**
 * The `webhooks` table and the enabled webhooks in memory (what the dispatcher matches alerts
 * against, secrets included, so delivering never reads the database). Every change publishes
 * `webhooks.changed`, on which every node reloads its copy.
 */
@Injectable()
export class WebhooksService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Alerts');
  private enabled: readonly Webhook[] = [];
  private enabledById: ReadonlyMap<string, Webhook> = new Map();
  private readonly stops: (() => void)[] = [];
  private reloading: Promise<void> = Promise.resolve();

  constructor(
    @InjectRepository(WebhookEntity) private readonly webhooks: Repository<WebhookEntity>,
    private readonly projects: ProjectsService,
    @InjectEventBus() private readonly events: EventBus,
    @Inject(DATABASE_MIGRATED) private readonly _migrated: boolean,
  ) {}

  async onModuleInit(): Promise<void> {
    const reload = () => void this.reload();
    this.stops.push(
      // This node reloads as it changes them (changed()); another node's change arrives here.
      this.events.subscribe('webhooks.changed', (_event, origin) => origin.remote && reload()),
      this.events.subscribe('project.deleted', reload),
      this.events.subscribe('state.resync', reload),
    );
    await this.reload();
  }

  onModuleDestroy(): void {
    for (const stop of this.stops.splice(0)) stop();
  }

  /**
   * The enabled webhooks an alert goes to: those subscribed to `subscription` of the alert's
   * project, and the global ones. An alert of no project (the node's own) goes to global ones only.
   */
  matching(subscription: WebhookEvent, projectId: string | null): Webhook[] {
    return this.enabled.filter(
      (webhook) =>
        webhook.events.includes(subscription) && (webhook.projectId === null || webhook.projectId === projectId),
    );
  }

  /**
   * The webhook `id` as it is now (URL, secret, format) when it exists and is enabled; undefined
   * once deleted or disabled. The dispatcher reads it before every attempt.
   */
  enabledWebhook(id: string): Webhook | undefined {
    return this.enabledById.get(id);
  }

  /** Reads the enabled webhooks again (one after the other: the last reload wins). */
  reload(): Promise<void> {
    this.reloading = this.reloading
      .then(async () => {
        const enabled = await this.webhooks.find({ where: { enabled: true }, order: { createdAt: 'ASC', id: 'ASC' } });
        this.enabled = enabled;
        this.enabledById = new Map(enabled.map((webhook) => [webhook.id, webhook]));
      })
      .catch((error: unknown) =>
        this.logger.error({ err: error }, 'Loading webhooks failed; keeping the previous set'),
      );
    return this.reloading;
  }

  async create(dto: CreateWebhookDto): Promise<IssuedWebhook> {
    const projectId = dto.projectId ?? null;
    await this.checkProject(projectId);
    const { secret, prefix } = newWebhookSecret();
    const entity = this.webhooks.create({
      id: newId(),
      url: dto.url,
      projectId,
      events: [...dto.events],
      format: dto.format ?? 'json',
      enabled: dto.enabled ?? true,
      secret,
      secretPrefix: prefix,
      lastDeliveryAt: null,
      lastDeliveryStatus: null,
      lastDeliveryOk: null,
      lastDeliveryError: null,
    });
    await this.webhooks.insert(entity);
    await this.changed();
    return { entity: await this.get(entity.id), secret };
  }

  async list(query: WebhookQueryDto): Promise<Page<Webhook>> {
    const [items, total] = await this.webhooks.findAndCount({
      where: query.projectId ? { projectId: query.projectId } : {},
      order: { createdAt: 'ASC', id: 'ASC' },
      skip: skipOf(query),
      take: query.size,
    });
    return { items, total, page: query.page, size: query.size };
  }

  async get(id: string): Promise<Webhook> {
    const webhook = await this.webhooks.findOneBy({ id });
    if (!webhook) throw new GatewayError('NOT_FOUND', `Webhook ${id} not found`);
    return webhook;
  }

  /**
   * Changes the fields given. A `url` equal to the masked form of the current one (what listings
   * show, e.g. sent back unchanged by an edit form) leaves the URL as it is.
   */
  async update(id: string, dto: UpdateWebhookDto): Promise<Webhook> {
    const webhook = await this.get(id);
    if (dto.projectId !== undefined) await this.checkProject(dto.projectId);
    const url = dto.url === undefined || dto.url === maskWebhookUrl(webhook.url) ? undefined : dto.url;
    await this.webhooks.update(
      { id },
      {
        ...(url !== undefined ? { url } : {}),
        ...(dto.projectId !== undefined ? { projectId: dto.projectId } : {}),
        ...(dto.events !== undefined ? { events: [...dto.events] } : {}),
        ...(dto.format !== undefined ? { format: dto.format } : {}),
        ...(dto.enabled !== undefined ? { enabled: dto.enabled } : {}),
        updatedAt: new Date(),
      },
    );
    await this.changed();
    return this.get(webhook.id);
  }

  /** A new secret; the old one stops signing at once. */
  async rotate(id: string): Promise<IssuedWebhook> {
    await this.get(id);
    const { secret, prefix } = newWebhookSecret();
    await this.webhooks.update({ id }, { secret, secretPrefix: prefix, updatedAt: new Date() });
    await this.changed();
    return { entity: await this.get(id), secret };
  }

  async delete(id: string): Promise<void> {
    await this.get(id);
    await this.webhooks.delete({ id });
    await this.changed();
  }

  /**
   * Records the last attempt. A plain statement, so `updated_at` (when the configuration last
   * changed) stays as it is; the time as UTC text, which both dialects' `datetime(3)` take.
   * Never throws.
   */
  async recordDelivery(id: string, result: DeliveryResult): Promise<void> {
    const at = result.at.toISOString().replace('T', ' ').replace('Z', '');
    const error = result.error === undefined ? null : result.error.slice(0, MAX_ERROR);
    try {
      await this.webhooks.query(
        'UPDATE webhooks SET last_delivery_at = ?, last_delivery_status = ?, last_delivery_ok = ?, last_delivery_error = ? WHERE id = ?',
        [at, result.status, result.ok ? 1 : 0, error, id],
      );
    } catch (failure) {
      this.logger.warn({ err: failure, webhookId: id }, 'Recording a webhook delivery failed');
    }
  }

  private async checkProject(projectId: string | null): Promise<void> {
    if (projectId === null) return;
    const found = await this.projects.namesOf([projectId]);
    if (!found.has(projectId)) {
      throw validationError([{ field: 'projectId', message: `project ${projectId} does not exist` }]);
    }
  }

  /** This node reloads before answering (so a test delivery right after sees it); the others on the event. */
  private async changed(): Promise<void> {
    this.events.publish({ type: 'webhooks.changed' });
    await this.reload();
  }
}
