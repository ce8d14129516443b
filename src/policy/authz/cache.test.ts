import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LruCache } from './cache.ts';

describe('LruCache', () => {
  it('evicts the least recently used entry at the bound', () => {
    const c = new LruCache<number>(3);
    c.set('a', 1);
    c.set('b', 2);
    c.set('c', 3);
    assert.equal(c.get('a'), 1); // a is now the most recent
    c.set('d', 4); // evicts b
    assert.equal(c.get('b'), undefined);
    assert.deepEqual([c.get('a'), c.get('c'), c.get('d')], [1, 3, 4]);
    c.set('c', 30); // update in place, no eviction
    assert.equal(c.size, 3);
    assert.equal(c.get('c'), 30);
    assert.deepEqual(c.stats(), { hits: 5, misses: 1, size: 3, capacity: 3 });
    c.clear();
    assert.equal(c.size, 0);
  });

  it('size 0 keeps nothing; a bad size is refused', () => {
    const c = new LruCache<number>(0);
    c.set('a', 1);
    assert.equal(c.get('a'), undefined);
    assert.equal(c.size, 0);
    assert.throws(() => new LruCache(-1), RangeError);
    assert.throws(() => new LruCache(1.5), RangeError);
  });
});
