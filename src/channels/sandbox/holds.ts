/**
 * What a lookup of a number (a Messages list filtered by To) sees of the creates to it still in progress.
 *
 * The `storeAfterLookup` fault: a create to one of its numbers is held until the sender has looked for it (a
 * Messages list for the number answered without it), and only then stored; a later lookup of the number waits until
 * it is. A provider that accepted a request its client gave up on and shows it only once the sender's first
 * reconciliation has looked: the order a second look exists for, made certain rather than left to timing.
 */
export class LookupHolds {
  private readonly held = new Map<string, { lookedUp: boolean; release: () => void; stored: Promise<void> }>();
  /** Creates that have arrived and are not yet stored or refused, by number. */
  private readonly arriving = new Map<string, Set<Promise<void>>>();

  /**
   * A create to `to` has arrived: lookups of `to` wait until it is stored or refused (call the function this
   * returns then). Twilio creates the record when the request arrives; so does the sandbox, as far as a lookup
   * can tell, whatever delays or load come between arrival and the insert.
   */
  arrived(to: string): () => void {
    let settle: () => void = () => {};
    const settled = new Promise<void>((resolve) => (settle = resolve));
    const pending = this.arriving.get(to) ?? new Set<Promise<void>>();
    pending.add(settled);
    this.arriving.set(to, pending);
    return () => {
      pending.delete(settled);
      if (pending.size === 0 && this.arriving.get(to) === pending) this.arriving.delete(to);
      settle();
    };
  }

  /**
   * Waits for the first lookup of `to` (at most `maxMs`, so that a sender that never looks still gets its message
   * stored). The caller stores the message, then calls the function this resolves to.
   */
  async untilLookedUp(to: string, maxMs: number): Promise<() => void> {
    if (this.held.has(to)) return () => {};
    let markStored: () => void = () => {};
    const stored = new Promise<void>((resolve) => (markStored = resolve));
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.held.set(to, { lookedUp: false, release: resolve, stored });
      timer = setTimeout(resolve, maxMs);
    });
    clearTimeout(timer);
    const entry = this.held.get(to)!;
    entry.lookedUp = true;
    return () => {
      this.held.delete(to);
      markStored();
    };
  }

  /** Before a lookup of `to` reads: creates that arrived before it, and one an earlier lookup released, are stored. */
  async beforeLookup(to: string): Promise<void> {
    await Promise.all([...(this.arriving.get(to) ?? [])]);
    const entry = this.held.get(to);
    if (entry?.lookedUp) await entry.stored;
  }

  /** After a lookup of `to` was answered: a create held for it goes on to be stored. */
  afterLookup(to: string): void {
    const entry = this.held.get(to);
    if (!entry || entry.lookedUp) return;
    entry.lookedUp = true;
    entry.release();
  }
}
