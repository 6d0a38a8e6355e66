import type { DomainEvent } from '../domain/decider.ts';
import type { EventStore } from '../eventstore/port.ts';
import { BoundedMap } from '../infra/bounded-map.ts';

interface Entry<S> {
  state: S;
  revision: number;
  checkedAt: number;
}

/**
 * Folded state of hot streams (campaigns, accounts) that thousands of messages consult. An entry older than
 * `maxAgeMs` is brought up to date by reading only the events after its revision, so a cancellation is seen within
 * that time without re-reading 10,000 recipients per message. At most `maxEntries` streams are kept (the least
 * recently used go), so memory is bounded by count whatever number of campaigns went through.
 */
export class StreamCache<S> {
  private readonly entries: BoundedMap<string, Entry<S>>;
  private readonly loading = new Map<string, Promise<S>>();

  constructor(
    private readonly store: EventStore,
    private readonly decider: { evolve(state: S, event: DomainEvent): S; initialState(): S },
    private readonly maxAgeMs: number,
    maxEntries = 500,
  ) {
    this.entries = new BoundedMap(maxEntries);
  }

  /** The state, at most `maxAgeMs` old; `fresh` reads what the stream gained since, whatever the entry's age. */
  get(streamId: string, options: { fresh?: boolean } = {}): Promise<S> {
    const entry = this.entries.get(streamId);
    if (entry && !options.fresh && Date.now() - entry.checkedAt < this.maxAgeMs) return Promise.resolve(entry.state);
    const pending = this.loading.get(streamId);
    if (pending) return pending;
    const load = this.refresh(streamId, entry).finally(() => this.loading.delete(streamId));
    this.loading.set(streamId, load);
    return load;
  }

  private async refresh(streamId: string, entry: Entry<S> | undefined): Promise<S> {
    const events = await this.store.read(streamId, { fromRevision: entry ? entry.revision + 1 : 0 });
    let state = entry?.state ?? this.decider.initialState();
    for (const event of events) state = this.decider.evolve(state, { type: event.type, data: event.data });
    const revision = events.length > 0 ? events[events.length - 1]!.revision : (entry?.revision ?? -1);
    this.entries.set(streamId, { state, revision, checkedAt: Date.now() });
    return state;
  }
}
