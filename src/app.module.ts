import { type DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { CommonModule } from './common/common.module';
import { OPENAPI_NAMED_ENUMS } from './common/swagger';
import { API_TYPES, INSTANCE_STATUSES } from './registry/instance-record';
import { BREAKER_STATES } from './circuit-breaker/breaker-transition';
import { loggerParams } from './common/logging';
import { type AppConfig, loadConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { StateModule } from './state/state.module';
import { ClusterModule } from './cluster/cluster.module';
import { AuthModule } from './auth/auth.module';
import { TenancyModule } from './tenancy/tenancy.module';
import { TenancyApiModule } from './tenancy-api/tenancy-api.module';
import { RegistryModule } from './registry/registry.module';
import { SelectionModule } from './selection/selection.module';
import { DashboardModule } from './dashboard/dashboard.module';
import { MonitoringModule } from './monitoring/monitoring.module';
import { PrometheusScrapeModule } from './prometheus/prometheus-scrape.module';
import { PrometheusModule } from './prometheus/prometheus.module';
import { AlertsModule } from './alerts/alerts.module';

@Module({})
export class AppModule {
  /** The whole gateway for one validated configuration (tests pass their own). */
  static forRoot(
    config: AppConfig = loadConfig(),
    options: { logDestination?: DestinationStream } = {},
  ): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot(loggerParams(config, options.logDestination)),
        CommonModule,
        PrometheusModule,
        config.cluster === undefined ? StateModule : ClusterModule.forRoot(config.cluster),
        DatabaseModule,
        TenancyModule,
        TenancyApiModule,
        AuthModule,
        RegistryModule,
        SelectionModule,
        MonitoringModule,
        PrometheusScrapeModule,
        DashboardModule,
        HealthModule,
        AlertsModule,
      ],
      // The enums the OpenAPI document names once and references everywhere (common/swagger.ts).
      providers: [
        {
          provide: OPENAPI_NAMED_ENUMS,
          useValue: { ApiType: API_TYPES, InstanceStatus: INSTANCE_STATUSES, BreakerState: BREAKER_STATES },
        },
      ],
    };
  }
}
