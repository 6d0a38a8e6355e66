import { describe, expect, it } from 'vitest';
import { isSystemEvent, toStreamState } from '../../src/eventstore/eventstoredb.ts';

describe('EventStoreDB adapter mapping', () => {
  it('maps expected versions to stream states', () => {
    expect(toStreamState('any')).toBe('any');
    expect(toStreamState('no_stream')).toBe('no_stream');
    expect(toStreamState('stream_exists')).toBe('stream_exists');
    expect(toStreamState(4)).toBe(4n);
  });

  it('recognises system events by type or stream', () => {
    expect(isSystemEvent({ type: '$metadata', streamId: 'account-a' })).toBe(true);
    expect(isSystemEvent({ type: 'UserAdded', streamId: '$$account-a' })).toBe(true);
    expect(isSystemEvent({ type: 'UserAdded', streamId: 'account-a' })).toBe(false);
  });
});
