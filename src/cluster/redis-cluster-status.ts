import { Injectable } from '@nestjs/common';
import type { ClusterStatus } from '../state/cluster-status';
import { ClusterBus } from './cluster-bus';
import { RedisLink } from './redis-link';

/** The node's view of its cluster: its Redis link and the peers it hears from. */
@Injectable()
export class RedisClusterStatus implements ClusterStatus {
  readonly mode = 'cluster' as const;

  constructor(
    private readonly link: RedisLink,
    private readonly bus: ClusterBus,
  ) {}

  get nodeId(): string {
    return this.link.nodeId;
  }

  get connected(): boolean {
    return this.link.connected;
  }

  get since(): number {
    return this.link.since;
  }

  get resyncs(): number {
    return this.bus.resyncCount;
  }

  nodes(): readonly string[] {
    return this.bus.nodes();
  }
}
