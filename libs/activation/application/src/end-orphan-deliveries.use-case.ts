/**
 * Ends the pending deliveries of destinations that no longer exist. Deleting a destination ends
 * the pending deliveries it finds (admin API), but another instance can still insert one after
 * that: its ingest matched a trigger list loaded before the trigger was deleted (a destination in
 * use by a trigger cannot be deleted, so the trigger went first). Nothing would ever send or end
 * such a delivery: the dispatcher reads the deliveries of the destinations it holds.
 *
 * So every instance ends them itself, at two moments that between them cover each delivery it
 * inserts: after a batch inserted deliveries, for those whose destination its configuration
 * (read after the insert) no longer holds; and after each configuration load, for every
 * destination the previous load held and this one does not. A delivery inserted while the
 * configuration still held its destination is found by the load that drops it.
 *
 * Not covered: an instance that stops between such an insert and its next load (its successor
 * never held the destination, so it sees nothing dropped); such a delivery stays pending, never
 * sent.
 */
export interface EndOrphanDeliveriesOptions {
  /** Ends every pending delivery of a destination with `reason`; how many (DeliveriesRepository.skipPendingOf). */
  skipPendingOf: (destinationId: string, reason: string) => Promise<number>;
  /** The ids of the destinations the configuration holds now (the ConfigCache). */
  destinationIds: () => Iterable<string>;
}

export class EndOrphanDeliveries {
  /** What the last configuration load held; unknown before the first `afterConfigLoad`. */
  private held: ReadonlySet<string> | undefined;
  /** Destinations whose pending deliveries are still to be ended (kept across a failed attempt). */
  private readonly toEnd = new Set<string>();

  constructor(private readonly opts: EndOrphanDeliveriesOptions) {}

  /** After a configuration load: ends the deliveries of destinations it dropped. How many were ended. */
  afterConfigLoad(): Promise<number> {
    const now = new Set(this.opts.destinationIds());
    for (const id of this.held ?? []) if (!now.has(id)) this.toEnd.add(id);
    this.held = now;
    return this.endPending();
  }

  /** After a batch inserted deliveries for `destinationIds`: ends those of destinations no longer held. How many were ended. */
  afterInsert(destinationIds: Iterable<string>): Promise<number> {
    const now = new Set(this.opts.destinationIds());
    for (const id of destinationIds) if (!now.has(id)) this.toEnd.add(id);
    return this.endPending();
  }

  private async endPending(): Promise<number> {
    let ended = 0;
    for (const id of [...this.toEnd]) {
      ended += await this.opts.skipPendingOf(id, `destination ${id} was deleted`);
      this.toEnd.delete(id);
    }
    return ended;
  }
}
