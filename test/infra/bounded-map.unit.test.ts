import { describe, expect, it } from 'vitest';
import { BoundedMap } from '../../src/infra/bounded-map.ts';

describe('BoundedMap', () => {
  it('holds at most maxEntries, dropping the least recently used', () => {
    const map = new BoundedMap<string, number>(3);
    map.set('a', 1).set('b', 2).set('c', 3);
    expect(map.get('a')).toBe(1); // a is now the most recent: b is the oldest
    map.set('d', 4);
    expect(map.size).toBe(3);
    expect(map.get('b')).toBeUndefined();
    expect([map.get('a'), map.get('c'), map.get('d')]).toEqual([1, 3, 4]);
    map.set('c', 30); // setting again refreshes too
    map.set('e', 5);
    expect(map.get('a')).toBeUndefined();
    expect(map.get('c')).toBe(30);
  });

  it('stays at its bound whatever goes through it', () => {
    const map = new BoundedMap<number, number>(100);
    for (let index = 0; index < 100_000; index++) map.set(index, index);
    expect(map.size).toBe(100);
    expect(map.get(99_999)).toBe(99_999);
    expect(map.get(99_899)).toBeUndefined();
  });
});
