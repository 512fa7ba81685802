import { Global, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { Clock, SystemClock } from './clock';
import { EarlyRefusals } from './early-refusals';
import { EnvelopeInterceptor } from './envelope.interceptor';
import { GatewayExceptionFilter } from './exception.filter';
import { RouteTable } from './route-table';
import { GatewayValidationPipe } from './validation.pipe';

/** Cross-cutting pieces: the clock, the envelope, the one exception filter, validation. */
@Global()
@Module({
  providers: [
    { provide: Clock, useClass: SystemClock },
    RouteTable,
    EarlyRefusals,
    {
      provide: APP_FILTER,
      inject: [RouteTable, Clock],
      useFactory: (routes: RouteTable, clock: Clock) => new GatewayExceptionFilter(routes, () => clock.now()),
    },
    EnvelopeInterceptor,
    { provide: APP_PIPE, useClass: GatewayValidationPipe },
  ],
  exports: [Clock, RouteTable, EarlyRefusals, EnvelopeInterceptor],
})
export class CommonModule {}
