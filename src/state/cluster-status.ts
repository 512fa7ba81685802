import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config';

/** What `/api/health` and Prometheus tell about the node and its cluster. */
export interface ClusterStatus {
  readonly mode: 'single' | 'cluster';
  /** `GATEWAY_NODE_ID` (default hostname-pid). */
  readonly nodeId: string;
  /** Cluster mode: whether Redis answers now. Always true on a single node. */
  readonly connected: boolean;
  /** Epoch ms of the last change of `connected` (start-up on a single node). */
  readonly since: number;
  /** Live nodes, this one included, sorted. */
  nodes(): readonly string[];
  /** Times this node reloaded shared state after it may have missed messages. */
  readonly resyncs: number;
}

/** Injection token of {@link ClusterStatus}. */
export const ClusterStatus = Symbol('ClusterStatus');

export const InjectClusterStatus = (): ParameterDecorator => Inject(ClusterStatus);

/** A single node: always connected to itself. */
@Injectable()
export class SingleNodeStatus implements ClusterStatus {
  readonly mode = 'single' as const;
  readonly nodeId: string;
  readonly connected = true;
  readonly since = Date.now();
  readonly resyncs = 0;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.nodeId = config.nodeId;
  }

  nodes(): readonly string[] {
    return [this.nodeId];
  }
}
