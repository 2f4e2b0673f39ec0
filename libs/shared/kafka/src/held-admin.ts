/**
 * A kafkajs admin client kept between uses and replaced after a failure: kafkajs can keep a
 * connection whose first request timed out as connected but unusable ("Broker not connected"
 * for ever), so an admin that failed once is never asked again (docs/decisions.md, "Kafka").
 */
import type { Admin, AdminConfig, Kafka } from 'kafkajs';

export class HeldAdmin {
  private held: { admin: Admin; connecting: Promise<void> } | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly config: AdminConfig = {},
  ) {}

  /** The held admin once connected; a new one when none is held. A failed connect drops it. */
  async connected(): Promise<Admin> {
    if (!this.held) {
      const admin = this.kafka.admin(this.config);
      this.held = { admin, connecting: admin.connect() };
    }
    const held = this.held;
    try {
      await held.connecting;
    } catch (err) {
      if (this.held === held) await this.drop();
      throw err;
    }
    return held.admin;
  }

  /** Forgets the held admin (after a failed request, or at shutdown): the next use makes a new one. */
  async drop(): Promise<void> {
    const held = this.held;
    this.held = undefined;
    await held?.admin.disconnect().catch(() => undefined);
  }
}
