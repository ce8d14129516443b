/**
 * A bounded least-recently-used map for authorization decisions. A Map keeps insertion order, so
 * the first key is the least recently used one: a hit moves its entry to the end, an insert over
 * the bound evicts the first. Size 0 turns the cache off (every get misses, set keeps nothing).
 */
export class LruCache<V> {
  readonly #max: number;
  readonly #map = new Map<string, V>();
  #hits = 0;
  #misses = 0;

  constructor(maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new RangeError(`cache size must be a non-negative integer, got ${maxEntries}`);
    this.#max = maxEntries;
  }

  get(key: string): V | undefined {
    if (this.#max === 0) return undefined;
    const v = this.#map.get(key);
    if (v === undefined) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    this.#map.delete(key);
    this.#map.set(key, v);
    return v;
  }

  set(key: string, value: V): void {
    if (this.#max === 0) return;
    if (this.#map.has(key)) this.#map.delete(key);
    else if (this.#map.size >= this.#max) this.#map.delete(this.#map.keys().next().value!);
    this.#map.set(key, value);
  }

  clear(): void {
    this.#map.clear();
  }

  get size(): number {
    return this.#map.size;
  }

  get capacity(): number {
    return this.#max;
  }

  /** Hits and misses since the cache was made (clear() does not reset them). */
  stats(): { hits: number; misses: number; size: number; capacity: number } {
    return { hits: this.#hits, misses: this.#misses, size: this.#map.size, capacity: this.#max };
  }
}
