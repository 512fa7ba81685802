import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
  SetMetadata,
  UseInterceptors,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type Observable, map } from 'rxjs';
import { Clock, InjectClock } from './clock';
import { type SuccessEnvelope, success } from './envelope';

const RAW_RESPONSE = 'gateway:raw-response';

/**
 * Marks a handler whose response is not wrapped in the success envelope (HTML, Prometheus text).
 *
 * @example
 * @Get() @RawResponse() page(): string { return html; }
 */
export const RawResponse = (): MethodDecorator & ClassDecorator => SetMetadata(RAW_RESPONSE, true);

/** Wraps every handler's return value as `{code:200, message, data, timestamp}` [compat]. */
@Injectable()
export class EnvelopeInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    @InjectClock() private readonly clock: Clock,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const raw = this.reflector.getAllAndOverride<boolean | undefined>(RAW_RESPONSE, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (raw) return next.handle();
    return next.handle().pipe(map((data: unknown): SuccessEnvelope<unknown> => success(data, this.clock.now())));
  }
}

/**
 * Wraps the controller's return values in the success envelope. Every controller carries it
 * (a test walks them), except the hot-path one, which builds its envelopes itself: a Nest
 * interceptor costs an rxjs pipeline and an AsyncResource per request.
 *
 * @example
 * @Enveloped()
 * @Controller('projects') export class ProjectsController { … }
 */
export const Enveloped = (): ClassDecorator & MethodDecorator => UseInterceptors(EnvelopeInterceptor);
