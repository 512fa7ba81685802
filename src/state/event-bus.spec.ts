import { nestLogs } from '../../test/utils/nest-logs';
import { MemoryEventBus } from './event-bus';

describe('MemoryEventBus', () => {
  it('delivers only events of the subscribed type, until unsubscribed', () => {
    const bus = new MemoryEventBus();
    const seen: string[] = [];
    const off = bus.subscribe('apikey.changed', (event) => seen.push(event.keyHash));
    bus.subscribe('project.changed', (event) => seen.push(`project:${event.projectId}`));
    bus.publish({ type: 'apikey.changed', keyHash: 'a' });
    bus.publish({ type: 'project.changed', projectId: 'p' });
    off();
    bus.publish({ type: 'apikey.changed', keyHash: 'b' });
    expect(seen).toEqual(['a', 'project:p']);
  });

  it('keeps delivering when one subscriber throws', () => {
    const bus = new MemoryEventBus();
    const seen: string[] = [];
    bus.subscribe('apikey.changed', () => {
      throw new Error('broken subscriber');
    });
    bus.subscribe('apikey.changed', (event) => seen.push(event.keyHash));
    bus.publish({ type: 'apikey.changed', keyHash: 'k' });
    expect(seen).toEqual(['k']);
    const logged = nestLogs.take('error', 'An event subscriber failed');
    expect(logged.map((entry) => entry.text)).toEqual([
      "{ err: Error: broken subscriber, event: 'apikey.changed' } An event subscriber failed",
    ]);
  });
});
