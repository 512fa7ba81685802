import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Authenticated } from '../auth/auth.decorators';
import { ApiEnvelope, ApiErrors } from '../common/api-envelope.decorator';
import { Enveloped } from '../common/envelope.interceptor';
import { BreakerEventsService } from './breaker-events.service';
import { BreakerEventPageDto, BreakerEventQueryDto, toBreakerEventDto } from './dto/breaker-event.dto';

/** The durable log of breaker transitions across projects (admin JWT). */
@ApiTags('admin: breaker events')
@Authenticated({ admin: true })
@Enveloped()
@Controller('admin/breaker-events')
export class AdminBreakerEventsController {
  constructor(private readonly events: BreakerEventsService) {}

  /** Breaker transitions, newest first, filtered by project, instance, target state and time range. */
  @Get()
  @ApiEnvelope(BreakerEventPageDto)
  @ApiErrors('VALIDATION_FAILED')
  async list(@Query() query: BreakerEventQueryDto): Promise<BreakerEventPageDto> {
    const page = await this.events.list(query);
    return { ...page, items: page.items.map(toBreakerEventDto) };
  }
}
