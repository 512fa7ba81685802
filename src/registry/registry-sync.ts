import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import { EventBus, InjectEventBus } from '../state/event-bus';
import { ApiInstanceEntity } from './entities/api-instance.entity';
import { toRecord } from './instance-mapping';
import { RegistryIndex } from './registry-index';
import { RegistryLoader } from './registry-loader';

/**
 * Cluster mode: keeps this node's {@link RegistryIndex} in step with writes made on other nodes.
 * Their events name what changed; the rows are read back from the database (the source of truth),
 * one event at a time in arrival order, so a deletion is never overtaken by an earlier change's
 * read. After a possible gap (`state.resync`) the whole index is reloaded. On a single node every
 * event is local and nothing here runs.
 */
@Injectable()
export class RegistrySync implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Registry');
  private queue: Promise<void> = Promise.resolve();
  private readonly stops: (() => void)[] = [];
  private touchedDuringLoad: Set<string> | undefined;

  constructor(
    @InjectRepository(ApiInstanceEntity) private readonly instances: Repository<ApiInstanceEntity>,
    private readonly index: RegistryIndex,
    private readonly loader: RegistryLoader,
    @InjectEventBus() private readonly events: EventBus,
  ) {}

  onModuleInit(): void {
    this.stops.push(
      this.events.subscribe('instances.changed', (event, origin) => {
        if (origin.remote) this.enqueue(() => this.reload(event.instanceIds));
        else this.noteLocal(event.instanceIds);
      }),
      this.events.subscribe('instances.deleted', (event, origin) => {
        if (origin.remote)
          this.enqueue(() => Promise.resolve(event.instanceIds.forEach((id) => this.index.remove(id))));
        else this.noteLocal(event.instanceIds);
      }),
      this.events.subscribe('state.resync', () => this.enqueue(() => this.reloadAll())),
    );
  }

  onModuleDestroy(): void {
    for (const stop of this.stops) stop();
  }

  /** Resolves once every event received so far is applied (tests). */
  settled(): Promise<void> {
    return this.queue;
  }

  private enqueue(work: () => Promise<void>): void {
    this.queue = this.queue.then(work).catch((error: unknown) => {
      // The database did not answer: the index may be behind until the next resync or change.
      this.logger.error({ err: error }, 'Could not apply a registry change from another node');
    });
  }

  /**
   * The whole index from the database. A write this node makes meanwhile updates the index at
   * once, and the snapshot being read may predate it: such ids are read again afterwards.
   */
  private async reloadAll(): Promise<void> {
    const touched = new Set<string>();
    this.touchedDuringLoad = touched;
    try {
      await this.loader.load();
    } finally {
      this.touchedDuringLoad = undefined;
    }
    if (touched.size > 0) await this.reload([...touched]);
  }

  private noteLocal(ids: readonly string[]): void {
    if (this.touchedDuringLoad !== undefined) for (const id of ids) this.touchedDuringLoad.add(id);
  }

  private async reload(ids: readonly string[]): Promise<void> {
    const rows = await this.instances.find({ where: { id: In([...ids]) } });
    const found = new Set<string>();
    for (const row of rows) {
      found.add(row.id);
      this.index.upsert(toRecord(row));
    }
    for (const id of ids) if (!found.has(id)) this.index.remove(id);
  }
}
