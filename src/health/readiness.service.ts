import { Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';

/**
 * Ready once every module has finished its start-up work (migrations, warm-up); not ready again
 * as soon as shutdown begins, so load balancers stop sending traffic before the server drains.
 */
@Injectable()
export class ReadinessService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private ready = false;

  onApplicationBootstrap(): void {
    this.ready = true;
  }

  beforeApplicationShutdown(): void {
    this.ready = false;
  }

  isReady(): boolean {
    return this.ready;
  }
}
