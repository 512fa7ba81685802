import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayNotEmpty,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  MaxLength,
} from 'class-validator';
import { PageQueryDto } from '../../common/pagination';
import { Omittable } from '../../common/validation';
import {
  WEBHOOK_EVENTS,
  WEBHOOK_FORMATS,
  type WebhookEntity,
  type WebhookEvent,
  type WebhookFormat,
} from '../webhook.entity';

const ID = /^[0-9a-f]{32}$/;
const URL_OPTIONS = {
  protocols: ['http', 'https'],
  require_protocol: true,
  require_tld: false,
  max_allowed_length: 2048,
};
const URL_MESSAGE = 'url must be an http:// or https:// URL';
const EVENTS_MESSAGE = `events must be a non-empty list of ${WEBHOOK_EVENTS.join(', ')}`;

/** How the last delivery attempt went. */
export class WebhookDeliveryDto {
  @ApiProperty({ format: 'date-time' })
  at!: string;
  /** The receiver's HTTP status; null when none came back (timeout, connection refused). */
  @ApiProperty({ type: 'integer', nullable: true })
  status!: number | null;
  /** A 2xx answer. */
  ok!: boolean;
  /** Why it failed, when it did. */
  error?: string;
}

/**
 * A webhook as listed: never its secret, only `secretPrefix`; the URL masked except in the answers
 * to create and update.
 */
export class WebhookDto {
  id!: string;
  /**
   * Masked (`urlMasked: true`) in listings, `GET /{id}` and rotate-secret — the scheme, the host and
   * the first path segment, then `/…`, e.g. `https://hooks.slack.com/services/…` — since a URL can
   * be a credential (Slack's are) and viewers may read these. The full URL is only in the answers
   * to create and update, which only the `admin` role can call.
   */
  @ApiProperty({ example: 'https://hooks.slack.com/services/…' })
  url!: string;
  /** Whether `url` is masked: true except in the answers to create and update. */
  urlMasked!: boolean;
  /** Null: a global webhook (every project's events, and the node's own such as write-behind failures). */
  @ApiProperty({ type: String, nullable: true })
  projectId!: string | null;
  @ApiProperty({ enum: WEBHOOK_EVENTS, isArray: true })
  events!: WebhookEvent[];
  @ApiProperty({ enum: WEBHOOK_FORMATS })
  format!: WebhookFormat;
  enabled!: boolean;
  @ApiProperty({ format: 'date-time' })
  createdAt!: string;
  @ApiProperty({ format: 'date-time' })
  updatedAt!: string;
  /** The first characters of the secret, e.g. `whsec_3f9a1c`. */
  secretPrefix!: string;
  @ApiProperty({ type: WebhookDeliveryDto, nullable: true })
  lastDelivery!: WebhookDeliveryDto | null;
}

/** Returned once, at creation and on rotation: `secret` signs the deliveries and is never shown again. */
export class CreatedWebhookDto extends WebhookDto {
  /** `whsec_` and 64 hex characters: the HMAC key of `X-Gateway-Signature`. */
  secret!: string;
}

export class WebhookPageDto {
  @ApiProperty({ type: [WebhookDto] })
  items!: WebhookDto[];
  total!: number;
  page!: number;
  size!: number;
}

/** `POST /api/admin/webhooks`. */
export class CreateWebhookDto {
  /** Where deliveries are POSTed: an http:// or https:// URL (up to 2048 characters). */
  @IsString({ message: URL_MESSAGE })
  @MaxLength(2048)
  @IsUrl(URL_OPTIONS, { message: URL_MESSAGE })
  url!: string;

  /** The project whose events it receives; null or absent: every project's (a global webhook). */
  @ApiPropertyOptional({ type: String, nullable: true })
  @IsOptional()
  @Matches(ID, { message: 'projectId must be 32 lowercase hex characters' })
  projectId?: string | null;

  @ApiProperty({ enum: WEBHOOK_EVENTS, isArray: true })
  @IsArray({ message: EVENTS_MESSAGE })
  @ArrayNotEmpty({ message: EVENTS_MESSAGE })
  @ArrayUnique({ message: 'events must not repeat an event' })
  @IsIn(WEBHOOK_EVENTS, { each: true, message: EVENTS_MESSAGE })
  events!: WebhookEvent[];

  /** Default `json`; not null. */
  @ApiPropertyOptional({ enum: WEBHOOK_FORMATS })
  @Omittable()
  @IsIn(WEBHOOK_FORMATS, { message: `format must be one of ${WEBHOOK_FORMATS.join(', ')}` })
  format?: WebhookFormat;

  /** Default true; not null. */
  @Omittable()
  @IsBoolean()
  enabled?: boolean;
}

/**
 * `PATCH /api/admin/webhooks/{id}`: the fields given change, the others stay. Only `projectId`
 * may be null (global); a null `url`, `events`, `format` or `enabled` is a 400 naming it.
 */
export class UpdateWebhookDto {
  @Omittable()
  @IsString({ message: URL_MESSAGE })
  @MaxLength(2048)
  @IsUrl(URL_OPTIONS, { message: URL_MESSAGE })
  url?: string;

  /** A project id, or null to make the webhook global. */
  @ApiPropertyOptional({ type: String, nullable: true })
  @IsOptional()
  @Matches(ID, { message: 'projectId must be 32 lowercase hex characters' })
  projectId?: string | null;

  @ApiPropertyOptional({ enum: WEBHOOK_EVENTS, isArray: true })
  @Omittable()
  @IsArray({ message: EVENTS_MESSAGE })
  @ArrayNotEmpty({ message: EVENTS_MESSAGE })
  @ArrayUnique({ message: 'events must not repeat an event' })
  @IsIn(WEBHOOK_EVENTS, { each: true, message: EVENTS_MESSAGE })
  events?: WebhookEvent[];

  @ApiPropertyOptional({ enum: WEBHOOK_FORMATS })
  @Omittable()
  @IsIn(WEBHOOK_FORMATS, { message: `format must be one of ${WEBHOOK_FORMATS.join(', ')}` })
  format?: WebhookFormat;

  @Omittable()
  @IsBoolean()
  enabled?: boolean;
}

/** Filters of `GET /api/admin/webhooks`. */
export class WebhookQueryDto extends PageQueryDto {
  /** Only this project's webhooks. */
  @IsOptional()
  @Matches(ID, { message: 'projectId must be 32 lowercase hex characters' })
  projectId?: string;
}

/**
 * The scheme, host (with its port) and first path segment, then `/…`: never the user info, the
 * rest of the path, the query or the fragment.
 *
 * @example
 * maskWebhookUrl('https://hooks.slack.com/services/T000/B000/XXXX'); // 'https://hooks.slack.com/services/…'
 */
export function maskWebhookUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '…';
  }
  const first = parsed.pathname.split('/').find((segment) => segment !== '');
  return `${parsed.protocol}//${parsed.host}/${first === undefined ? '' : `${first}/`}…`;
}

/** The answer for a webhook: `full` only for the answers to create and update (admin role only). */
export function toWebhookDto(entity: WebhookEntity, { full = false }: { full?: boolean } = {}): WebhookDto {
  return {
    id: entity.id,
    url: full ? entity.url : maskWebhookUrl(entity.url),
    urlMasked: !full,
    projectId: entity.projectId,
    events: entity.events,
    format: entity.format,
    enabled: entity.enabled,
    createdAt: entity.createdAt.toISOString(),
    updatedAt: entity.updatedAt.toISOString(),
    secretPrefix: entity.secretPrefix,
    lastDelivery:
      entity.lastDeliveryAt === null
        ? null
        : {
            at: entity.lastDeliveryAt.toISOString(),
            status: entity.lastDeliveryStatus,
            ok: entity.lastDeliveryOk === true,
            ...(entity.lastDeliveryError === null ? {} : { error: entity.lastDeliveryError }),
          },
  };
}
