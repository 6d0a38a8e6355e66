/**
 * The `storeAfterLookup` fault: a create to one of its numbers is held until the sender has looked for it (a
 * Messages list for the number answered without it), and only then stored; a later lookup of the number waits until
 * it is. A provider that accepted a request its client gave up on and shows it only once the sender's first
 * reconciliation has looked: the order a second look exists for, made certain rather than left to timing.
 */
export class LookupHolds {
  private readonly held = new Map<string, { lookedUp: boolean; release: () => void; stored: Promise<void> }>();

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

  /** Before a lookup of `to` reads: a create that an earlier lookup released is stored first. */
  async beforeLookup(to: string): Promise<void> {
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
