import { mulberry32 as prng } from '../../test/utils/mulberry32';
import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Clock, FakeClock } from '../common/clock';
import { InstanceStatsRegistry } from '../statistics/instance-stats-registry';
import { BreakerTransitions } from '../circuit-breaker/breaker-transition';
import { EventBus, MemoryEventBus } from '../state/event-bus';
import type { LeaseDirectory, LeaseIdFacts, RelayedLease, RelayedLeaseClose } from '../state/lease-directory';
import { newRandomId } from '../common/ids';
import { type Lease, LeaseManager } from './lease-manager';

/**
 * The other nodes of a cluster, as the LeaseManager sees them through its directory: the test
 * delivers what they would send (relayed closes, their open-lease counts) and reads what this
 * node published.
 */
class OtherNodes implements LeaseDirectory {
  readonly published = new Map<string, number>();
  private closeHandler: ((close: RelayedLeaseClose) => void) | undefined;
  private openListener: ((instanceId: string, open: number) => void) | undefined;

  newSelectionId(_lease: LeaseIdFacts): string {
    return newRandomId();
  }
  relayClose(_close: RelayedLeaseClose): RelayedLease | undefined {
    return { probeExpiresAt: undefined };
  }
  onRelayedClose(handler: (close: RelayedLeaseClose) => void): () => void {
    this.closeHandler = handler;
    return () => (this.closeHandler = undefined);
  }
  publishOpen(instanceId: string, open: number): void {
    this.published.set(instanceId, open);
  }
  onRemoteOpen(listener: (instanceId: string, open: number) => void): () => void {
    this.openListener = listener;
    return () => (this.openListener = undefined);
  }
  /** Another node relays a report's close here. */
  relay(close: RelayedLeaseClose): void {
    this.closeHandler?.(close);
  }
  /** The other nodes now hold `open` leases of the instance. */
  remoteOpen(instanceId: string, open: number): void {
    this.openListener?.(instanceId, open);
  }
}

const T0 = Date.UTC(2026, 0, 1);

interface ModelLease {
  readonly lease: Lease;
  state: 'open' | 'closed' | 'expired' | 'dropped';
}

function setup() {
  const clock = new FakeClock(T0);
  const stats = new InstanceStatsRegistry(new MemoryEventBus(), new BreakerTransitions());
  const leases = new LeaseManager(clock, stats, new MemoryEventBus());
  const expired: Lease[] = [];
  leases.onExpire((lease) => expired.push(lease));
  return { clock, stats, leases, expired };
}

describe('LeaseManager', () => {
  // A failed expectation must not leave a Logger spy behind for the next test.
  afterEach(() => jest.restoreAllMocks());

  it('a report without a selectionId closes the newest lease opened by its call, else the oldest', () => {
    const { clock, leases } = setup();
    const silent = leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 6000 }); // never reported
    clock.advance(1000);
    const mine = leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 6000 });
    clock.advance(500);
    const later = leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 6000 });
    expect(leases.closeForCall('p', 'i', mine.openedAt + 100)).toBe(mine);
    expect(leases.closeForCall('p', 'i', T0 - 10_000)).toBe(silent); // nothing that early: the oldest
    expect(leases.closeForCall('p', 'i', clock.now())).toBe(later);
    expect(leases.closeForCall('p', 'i', clock.now())).toBeUndefined();
  });

  it('a report timestamped in the same millisecond as its lease closes that lease, not an older one', () => {
    const { clock, leases } = setup();
    const older = leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 6000 });
    clock.advance(1);
    const mine = leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 6000 });
    expect(leases.closeForCall('p', 'i', mine.openedAt)).toBe(mine);
    expect(leases.closeForCall('p', 'i', older.openedAt)).toBe(older);
  });

  it('opens a lease with a 32-hex selectionId, its times and defaults', () => {
    const { clock, leases } = setup();
    clock.advance(5);
    const lease = leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 60_000 });
    expect(lease).toEqual({
      selectionId: expect.stringMatching(/^[0-9a-f]{32}$/),
      projectId: 'p',
      instanceId: 'i',
      openedAt: T0 + 5,
      expiresAt: T0 + 60_005,
      tokens: 0,
      probe: false,
    });
    const probe = leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 1, tokens: 900, probe: true });
    expect(probe).toMatchObject({ tokens: 900, probe: true });
    expect(probe.selectionId).not.toBe(lease.selectionId);
  });

  it('rejects a TTL that is negative or not finite', () => {
    const { leases } = setup();
    for (const ttlMs of [-1, NaN, Infinity]) {
      expect(() => leases.open({ projectId: 'p', instanceId: 'i', ttlMs })).toThrow(RangeError);
    }
    expect(leases.openTotal).toBe(0);
  });

  it('says which TTL it rejected', () => {
    const { leases } = setup();
    expect(() => leases.open({ projectId: 'p', instanceId: 'i', ttlMs: -250 })).toThrow('ttlMs must be ≥ 0, got -250');
  });

  it('accepts a zero TTL: the lease is due at once and expires on the next sweep', () => {
    const { leases, expired } = setup();
    const lease = leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 0 });
    expect(lease.expiresAt).toBe(lease.openedAt);
    expect(leases.expireDue(T0)).toEqual([lease]);
    expect(expired).toEqual([lease]);
  });

  it('closes by selectionId once, keeping open counts and the stats in step, never below zero', () => {
    const { leases, stats } = setup();
    const a = leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 1000 });
    leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 1000 });
    expect([leases.openTotal, leases.openCount('i'), stats.get('i').openLeases]).toEqual([2, 2, 2]);
    expect(leases.close(a.selectionId, 'p')).toBe(a);
    expect(leases.close(a.selectionId, 'p')).toBeUndefined();
    expect([leases.openTotal, leases.openCount('i'), stats.get('i').openLeases]).toEqual([1, 1, 1]);
    leases.closeOldest('p', 'i');
    expect(leases.closeOldest('p', 'i')).toBeUndefined();
    expect([leases.openTotal, leases.openCount('i'), stats.get('i').openLeases]).toEqual([0, 0, 0]);
  });

  it("does not close another project's lease by its selectionId", () => {
    const { leases } = setup();
    const lease = leases.open({ projectId: 'p1', instanceId: 'i', ttlMs: 1000 });
    expect(leases.close(lease.selectionId, 'p2')).toBeUndefined();
    expect(leases.openCount('i')).toBe(1);
    expect(leases.close(lease.selectionId, 'p1')).toBe(lease);
  });

  it('closes the oldest open lease of that project and instance, skipping ones closed by id', () => {
    const { clock, leases } = setup();
    const open = (projectId: string, instanceId: string) => {
      clock.advance(1);
      return leases.open({ projectId, instanceId, ttlMs: 60_000 });
    };
    const a1 = open('p', 'i');
    open('q', 'i');
    const a2 = open('p', 'i');
    open('p', 'j');
    const a3 = open('p', 'i');
    const a4 = open('p', 'i');
    leases.close(a2.selectionId, 'p');
    expect(leases.closeOldest('p', 'i')).toBe(a1);
    expect(leases.closeOldest('p', 'i')).toBe(a3);
    expect(leases.closeOldest('p', 'i')).toBe(a4);
    expect(leases.closeOldest('p', 'i')).toBeUndefined();
    expect([leases.openCount('i'), leases.openCount('j'), leases.openTotal]).toEqual([1, 1, 2]);
  });

  it('expires a lease exactly at its TTL, counts it unreported and frees the instance', () => {
    const { clock, leases, stats, expired } = setup();
    const lease = leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 1000 });
    expect(leases.expireDue(T0 + 999)).toEqual([]);
    expect(leases.openCount('i')).toBe(1);
    clock.advance(1000);
    expect(leases.expireDue()).toEqual([lease]);
    expect(expired).toEqual([lease]);
    expect([leases.unreportedTotal, leases.openCount('i'), stats.get('i').openLeases]).toEqual([1, 0, 0]);
    expect(leases.close(lease.selectionId, 'p')).toBeUndefined();
    expect(leases.closeOldest('p', 'i')).toBeUndefined();
  });

  it('expires due leases from open(), soonest first, and never a lease already closed', () => {
    const { clock, leases, expired } = setup();
    const slow = leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 3000 });
    const reported = leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 1000 });
    const fast = leases.open({ projectId: 'p', instanceId: 'j', ttlMs: 2000 });
    leases.close(reported.selectionId, 'p');
    clock.advance(5000);
    leases.open({ projectId: 'p', instanceId: 'k', ttlMs: 1000 });
    expect(expired).toEqual([fast, slow]);
    expect([leases.unreportedTotal, leases.openTotal]).toEqual([2, 1]);
  });

  it('expires leases due in the same millisecond in the order they were opened', () => {
    const { clock, leases, expired } = setup();
    const first = leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 3000 });
    clock.advance(1000);
    const second = leases.open({ projectId: 'q', instanceId: 'j', ttlMs: 2000 });
    clock.advance(1000);
    const third = leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 1000 });
    const fourth = leases.open({ projectId: 'p', instanceId: 'k', ttlMs: 1000 });
    clock.advance(1000);
    expect(leases.expireDue()).toEqual([first, second, third, fourth]);
    expect(expired).toEqual([first, second, third, fourth]);
  });

  describe('earliestExpiry (when the instance frees a concurrency slot)', () => {
    it('is the soonest expiry among the open leases of the instance, whatever their opening order', () => {
      const { clock, leases } = setup();
      leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 5000 });
      clock.advance(100);
      leases.open({ projectId: 'q', instanceId: 'i', ttlMs: 6000 });
      clock.advance(100);
      leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 2000 });
      leases.open({ projectId: 'p', instanceId: 'other', ttlMs: 10 });
      expect(leases.earliestExpiry('i')).toBe(T0 + 2200);
    });

    it('ignores leases already closed, and is undefined when none is open', () => {
      const { clock, leases } = setup();
      const soonest = leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 1000 });
      clock.advance(100);
      leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 3000 });
      leases.close(soonest.selectionId, 'p');
      expect(leases.earliestExpiry('i')).toBe(T0 + 3100);
      leases.closeOldest('p', 'i');
      expect(leases.earliestExpiry('i')).toBeUndefined();
      expect(leases.earliestExpiry('never-used')).toBeUndefined();
    });
  });

  describe('per project (the cap of open leases, and when it frees a slot)', () => {
    it('counts the open leases of each project apart, through opens, closes, expiries and drops', () => {
      const { clock, leases } = setup();
      const a1 = leases.open({ projectId: 'a', instanceId: 'i', ttlMs: 1000 });
      leases.open({ projectId: 'a', instanceId: 'j', ttlMs: 5000 });
      leases.open({ projectId: 'a', instanceId: 'i', ttlMs: 9000 });
      leases.open({ projectId: 'b', instanceId: 'i', ttlMs: 1000 });
      expect([leases.openOfProject('a'), leases.openOfProject('b'), leases.openOfProject('c')]).toEqual([3, 1, 0]);
      leases.close(a1.selectionId, 'a');
      expect(leases.openOfProject('a')).toBe(2);
      clock.advance(1000);
      leases.expireDue();
      expect([leases.openOfProject('a'), leases.openOfProject('b')]).toEqual([2, 0]);
      leases.dropInstance('j');
      expect(leases.openOfProject('a')).toBe(1);
      leases.closeOldest('a', 'i');
      expect(leases.openOfProject('a')).toBe(0);
    });

    it("is the soonest expiry among the project's open leases, whatever their opening order or instance", () => {
      const { clock, leases } = setup();
      const late = leases.open({ projectId: 'a', instanceId: 'i', ttlMs: 60_000 });
      const soon = leases.open({ projectId: 'a', instanceId: 'j', ttlMs: 30_000 });
      leases.open({ projectId: 'b', instanceId: 'i', ttlMs: 1000 });
      expect(leases.earliestExpiryOfProject('a')).toBe(T0 + 30_000);
      leases.close(soon.selectionId, 'a');
      expect(leases.earliestExpiryOfProject('a')).toBe(T0 + 60_000);
      clock.advance(60_000);
      leases.expireDue();
      expect(late.expiresAt).toBe(T0 + 60_000);
      expect([leases.earliestExpiryOfProject('a'), leases.earliestExpiryOfProject('b')]).toEqual([
        undefined,
        undefined,
      ]);
    });

    it('keeps the soonest expiry right across 10,000 leases closed in random order', () => {
      const { leases } = setup();
      const random = prng(15);
      const open = Array.from({ length: 10_000 }, () =>
        leases.open({ projectId: 'a', instanceId: 'i', ttlMs: 1000 + Math.floor(random() * 100_000) }),
      );
      while (open.length > 0) {
        const earliest = Math.min(...open.map((lease) => lease.expiresAt));
        expect(leases.earliestExpiryOfProject('a')).toBe(earliest);
        for (let i = 0; i < 500 && open.length > 0; i++) {
          const [lease] = open.splice(Math.floor(random() * open.length), 1);
          leases.close(lease.selectionId, 'a');
        }
      }
      expect(leases.earliestExpiryOfProject('a')).toBeUndefined();
    });
  });

  it('drops a deleted instance without counting its leases as unreported', () => {
    const { clock, leases, stats, expired } = setup();
    leases.open({ projectId: 'p', instanceId: 'gone', ttlMs: 1000 });
    const closed = leases.open({ projectId: 'q', instanceId: 'gone', ttlMs: 1000 });
    leases.open({ projectId: 'q', instanceId: 'gone', ttlMs: 1000 });
    const kept = leases.open({ projectId: 'p', instanceId: 'stays', ttlMs: 1000 });
    leases.close(closed.selectionId, 'q');
    expect(leases.dropInstance('gone')).toBe(2);
    expect(leases.dropInstance('gone')).toBe(0);
    expect([leases.openCount('gone'), stats.get('gone').openLeases, leases.openTotal]).toEqual([0, 0, 1]);
    clock.advance(1000);
    expect(leases.expireDue()).toEqual([kept]);
    expect(expired).toEqual([kept]);
    expect(leases.unreportedTotal).toBe(1);
  });

  it('runs every listener for every expired lease even if one throws, then rethrows', () => {
    const { clock, leases, expired } = setup();
    leases.onExpire(() => {
      throw new Error('listener bug');
    });
    leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 10 });
    leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 10 });
    clock.advance(10);
    expect(() => leases.expireDue()).toThrow('listener bug');
    expect([expired.length, leases.openTotal, leases.unreportedTotal]).toEqual([2, 0, 2]);
  });

  it('stops notifying a listener that unsubscribed', () => {
    const { clock, leases } = setup();
    const seen: Lease[] = [];
    const unsubscribe = leases.onExpire((lease) => seen.push(lease));
    unsubscribe();
    leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 10 });
    clock.advance(10);
    expect(leases.expireDue()).toHaveLength(1);
    expect(seen).toEqual([]);
  });

  describe('in a cluster (through its lease directory)', () => {
    function clusterSetup() {
      const clock = new FakeClock(T0);
      const events = new MemoryEventBus();
      const stats = new InstanceStatsRegistry(events, new BreakerTransitions());
      const nodes = new OtherNodes();
      const leases = new LeaseManager(clock, stats, events, nodes);
      leases.onModuleInit();
      const relayed: [Lease | undefined, RelayedLeaseClose][] = [];
      leases.onRelayedClose((lease, close) => void relayed.push([lease, close]));
      return { clock, events, stats, nodes, leases, relayed };
    }

    it('closes a lease another node relays a report for: by selectionId, by call time, else the oldest', () => {
      const { clock, leases, relayed, nodes } = clusterSetup();
      const first = leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 60_000 });
      clock.advance(10);
      const second = leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 60_000 });
      clock.advance(10);
      const third = leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 60_000 });
      expect(nodes.published.get('i')).toBe(3);
      const byId = { projectId: 'p', instanceId: 'i', selectionId: third.selectionId, usedTokens: 12 };
      nodes.relay(byId);
      const byTime = { projectId: 'p', instanceId: 'i', callStartedAt: second.openedAt };
      nodes.relay(byTime);
      const oldest = { projectId: 'p', instanceId: 'i' };
      nodes.relay(oldest);
      nodes.relay(oldest); // nothing left to close: the listener still hears of it
      expect(relayed).toEqual([
        [third, byId],
        [second, byTime],
        [first, oldest],
        [undefined, oldest],
      ]);
      expect([leases.openCount('i'), nodes.published.get('i')]).toEqual([0, 0]);
    });

    it('keeps telling every relay listener even when one throws', () => {
      const { leases, relayed, nodes } = clusterSetup();
      const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      leases.onRelayedClose(() => {
        throw new Error('listener bug');
      });
      const after: RelayedLeaseClose[] = [];
      leases.onRelayedClose((_lease, close) => void after.push(close));
      leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 1000 });
      nodes.relay({ projectId: 'p', instanceId: 'i' });
      expect([relayed.length, after.length, leases.openCount('i')]).toEqual([1, 1, 0]);
      expect(logged).toHaveBeenCalledTimes(1);
      logged.mockRestore();
    });

    it('logs a failing relay listener with the error it threw', () => {
      const { leases, nodes } = clusterSetup();
      const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      const bug = new Error('listener bug');
      leases.onRelayedClose(() => {
        throw bug;
      });
      nodes.relay({ projectId: 'p', instanceId: 'i' });
      expect(logged).toHaveBeenCalledWith({ err: bug }, expect.stringMatching(/relayed-close listener failed/));
    });

    it('stops telling a relay listener that unsubscribed', () => {
      const { leases, nodes, relayed } = clusterSetup();
      const heard: RelayedLeaseClose[] = [];
      const unsubscribe = leases.onRelayedClose((_lease, close) => void heard.push(close));
      unsubscribe();
      nodes.relay({ projectId: 'p', instanceId: 'i' });
      expect([relayed.length, heard]).toEqual([1, []]);
    });

    it("counts the other nodes' open leases in the instance's statistics, without creating stats for nothing", () => {
      const { stats, nodes, leases } = clusterSetup();
      nodes.remoteOpen('quiet', 0);
      expect(stats.peek('quiet')).toBeUndefined();
      nodes.remoteOpen('busy', 4);
      leases.open({ projectId: 'p', instanceId: 'busy', ttlMs: 1000 });
      expect(stats.get('busy').openLeases).toBe(5);
      nodes.remoteOpen('busy', 0);
      expect(stats.get('busy').openLeases).toBe(1);
    });

    it('drops the leases of a deleted instance on the event, and stops listening once destroyed', () => {
      const { events, leases, nodes, relayed } = clusterSetup();
      leases.open({ projectId: 'p', instanceId: 'gone', ttlMs: 1000 });
      leases.open({ projectId: 'p', instanceId: 'kept', ttlMs: 1000 });
      events.publish({ type: 'instances.deleted', projectId: 'p', instanceIds: ['gone'] });
      expect([leases.openCount('gone'), leases.openCount('kept'), leases.unreportedTotal]).toEqual([0, 1, 0]);
      expect(nodes.published.get('gone')).toBe(0);
      leases.onModuleDestroy();
      nodes.relay({ projectId: 'p', instanceId: 'kept' });
      events.publish({ type: 'instances.deleted', projectId: 'p', instanceIds: ['kept'] });
      expect([relayed.length, leases.openCount('kept')]).toEqual([0, 1]);
    });
  });

  describe('sweeper', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    it('expires on its interval until stopped, and survives a failing listener', () => {
      const { clock, leases, expired } = setup();
      const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 500 });
      leases.startSweeper(1000);
      clock.advance(500);
      jest.advanceTimersByTime(1000);
      expect(expired).toHaveLength(1);
      leases.onExpire(() => {
        throw new Error('listener bug');
      });
      leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 500 });
      clock.advance(500);
      expect(() => jest.advanceTimersByTime(1000)).not.toThrow();
      expect(logged).toHaveBeenCalledTimes(1);
      leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 500 });
      leases.onModuleDestroy();
      clock.advance(500);
      jest.advanceTimersByTime(5000);
      expect([expired.length, leases.openTotal]).toEqual([2, 1]);
      logged.mockRestore();
    });

    it('logs a failing expiry listener with the error it threw', () => {
      const { clock, leases } = setup();
      const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      const bug = new Error('listener bug');
      leases.onExpire(() => {
        throw bug;
      });
      leases.open({ projectId: 'p', instanceId: 'i', ttlMs: 500 });
      leases.startSweeper(1000);
      clock.advance(500);
      jest.advanceTimersByTime(1000);
      expect(logged).toHaveBeenCalledWith({ err: bug }, expect.stringMatching(/expiry listener failed/));
      leases.stopSweeper();
    });
  });

  it('stays correct with 100k leases against a brute-force model', () => {
    const { clock, leases, stats, expired } = setup();
    const random = prng(2026);
    const model = new Map<string, ModelLease>();
    const pairs = new Map<string, { items: ModelLease[]; head: number }>(); // opening order per project + instance
    const openIds: string[] = [];
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
    const instances = Array.from({ length: 20 }, (_, i) => `i${i}`);
    const projects = ['p0', 'p1', 'p2', 'p3', 'p4'];
    let seen = 0;
    const problems: string[] = []; // collected, not expect()ed per lease: 100k expect calls take seconds
    const syncExpired = () => {
      for (; seen < expired.length; seen++) {
        const lease = expired[seen];
        const entry = model.get(lease.selectionId);
        if (entry?.state !== 'open') problems.push(`expired a lease in state ${entry?.state}`);
        if (lease.expiresAt > clock.now()) problems.push(`expired ${lease.expiresAt - clock.now()} ms early`);
        if (seen > 0 && lease.expiresAt < expired[seen - 1].expiresAt) problems.push('expired out of order');
        if (entry) entry.state = 'expired';
      }
    };
    const checkpoint = () => {
      const counts = new Map(instances.map((id) => [id, 0]));
      const byProject = new Map(projects.map((id) => [id, { open: 0, earliest: undefined as number | undefined }]));
      let total = 0;
      for (const m of model.values()) {
        if (m.state !== 'open') continue;
        if (m.lease.expiresAt <= clock.now()) problems.push('a due lease was not expired');
        counts.set(m.lease.instanceId, counts.get(m.lease.instanceId)! + 1);
        const project = byProject.get(m.lease.projectId)!;
        project.open++;
        project.earliest = Math.min(project.earliest ?? Number.POSITIVE_INFINITY, m.lease.expiresAt);
        total++;
      }
      expect(leases.openTotal).toBe(total);
      for (const id of instances) {
        expect([id, leases.openCount(id), stats.get(id).openLeases]).toEqual([id, counts.get(id), counts.get(id)]);
      }
      for (const [id, { open, earliest }] of byProject) {
        expect([id, leases.openOfProject(id), leases.earliestExpiryOfProject(id)]).toEqual([id, open, earliest]);
      }
      expect(problems).toEqual([]);
    };
    for (let step = 1; step <= 100_000; step++) {
      clock.advance(1);
      const projectId = pick(projects);
      const instanceId = pick(instances);
      const lease = leases.open({ projectId, instanceId, ttlMs: 1000 + Math.floor(random() * 59_000) });
      syncExpired();
      const entry: ModelLease = { lease, state: 'open' };
      model.set(lease.selectionId, entry);
      openIds.push(lease.selectionId);
      const key = `${projectId}/${instanceId}`;
      const pair = pairs.get(key) ?? { items: [], head: 0 };
      pairs.set(key, pair);
      pair.items.push(entry);
      const roll = random();
      if (roll < 0.3) {
        const at = Math.floor(random() * openIds.length);
        const id = openIds[at];
        openIds[at] = openIds[openIds.length - 1];
        openIds.pop();
        const target = model.get(id)!;
        const closed = leases.close(id, target.lease.projectId);
        if (closed?.selectionId !== (target.state === 'open' ? id : undefined)) problems.push(`close(${id}) wrong`);
        if (target.state === 'open') target.state = 'closed';
      } else if (roll < 0.45) {
        const [p, i] = [pick(projects), pick(instances)];
        const pair = pairs.get(`${p}/${i}`) ?? { items: [], head: 0 };
        while (pair.head < pair.items.length && pair.items[pair.head].state !== 'open') pair.head++;
        const oldest = pair.items[pair.head];
        const closed = leases.closeOldest(p, i);
        if (closed !== oldest?.lease) problems.push(`closeOldest(${p}, ${i}) did not return the oldest`);
        if (closed) model.get(closed.selectionId)!.state = 'closed';
      }
      if (step === 50_000) {
        const dropped = [...model.values()].filter((m) => m.state === 'open' && m.lease.instanceId === 'i7');
        expect(leases.dropInstance('i7')).toBe(dropped.length);
        for (const m of dropped) m.state = 'dropped';
      }
      if (step % 10_000 === 0) checkpoint();
    }
    clock.advance(60_000);
    leases.expireDue();
    syncExpired();
    checkpoint();
    expect(leases.openTotal).toBe(0);
    expect(leases.unreportedTotal).toBe([...model.values()].filter((m) => m.state === 'expired').length);
    expect(leases.unreportedTotal).toBeGreaterThan(10_000);
  });

  it('is a Nest provider taking the injected Clock', async () => {
    const clock = new FakeClock(T0);
    const moduleRef = await Test.createTestingModule({
      providers: [
        LeaseManager,
        InstanceStatsRegistry,
        BreakerTransitions,
        { provide: Clock, useValue: clock },
        { provide: EventBus, useClass: MemoryEventBus },
      ],
    }).compile();
    const lease = moduleRef.get(LeaseManager).open({ projectId: 'p', instanceId: 'i', ttlMs: 1 });
    expect(lease.openedAt).toBe(T0);
    expect(moduleRef.get(InstanceStatsRegistry).get('i').openLeases).toBe(1);
  });
});
