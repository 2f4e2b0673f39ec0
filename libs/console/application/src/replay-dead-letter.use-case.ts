/**
 * Replaying a dead letter. A message a stage could not process: its original key, value and
 * headers go back to the topic it came from (the same partition), where its stage tries it again
 * (a message that fails again is dead-lettered again, as a new dead letter); the stages' replay
 * guards know its messageId, so replaying a message that was in fact applied changes nothing. A
 * delivery that died (activation's letters naming a delivery): activation is asked to deliver it
 * again. Each replay is recorded (who, when, how often).
 */
import { mayReplayDeadLetters, replayHeaders, replayTarget, type ConsoleUser, type DeadLetterEntry } from '@mosaic/console-domain';
import type { ActivationDeliveries, DeadLetterBrowser, DeadLetterReplaysRepository } from '@mosaic/console-data-access';
import type { MessageSender } from '@mosaic/shared-kafka';

/** Where the replay went: back to a topic and partition, or to activation as a delivery. */
export type ReplaySent = { kind: 'topic'; topic: string; partition: number } | { kind: 'delivery'; deliveryId: string };

export type ReplayOutcome =
  | { ok: true; entry: DeadLetterEntry; sent: ReplaySent; recorded: true }
  | { ok: true; entry: DeadLetterEntry; sent: ReplaySent; recorded: false; recordError: unknown }
  | { ok: false; reason: 'forbidden' | 'not_found' | 'not_replayable'; message: string };

export class ReplayDeadLetter {
  constructor(
    private readonly browser: DeadLetterBrowser,
    private readonly replays: DeadLetterReplaysRepository,
    private readonly sender: MessageSender,
    private readonly deliveries: ActivationDeliveries,
    /** The topics the stages consume, with the prefix. */
    private readonly replayableTopics: ReadonlySet<string>,
  ) {}

  /** Throws `UpstreamError` when activation cannot be asked. */
  async execute(id: string, user: ConsoleUser): Promise<ReplayOutcome> {
    if (!mayReplayDeadLetters(user.role)) return { ok: false, reason: 'forbidden', message: `role ${user.role} may not replay dead letters` };
    const entry = this.browser.find(id);
    if (!entry) return { ok: false, reason: 'not_found', message: `no dead letter ${id} among the latest this console keeps` };
    const target = replayTarget(entry.record, this.replayableTopics);
    if (!target.ok) return { ok: false, reason: 'not_replayable', message: target.reason };
    let sent: ReplaySent;
    if (target.kind === 'delivery') {
      const r = await this.deliveries.replay(target.deliveryId);
      if (r.outcome !== 'replayed') return { ok: false, reason: 'not_replayable', message: r.message };
      sent = { kind: 'delivery', deliveryId: target.deliveryId };
    } else {
      sent = await this.sendBack(entry, id, target.topic);
    }
    // Sent is sent: a mark that cannot be written is the caller's warning, not a failure (a retry would send it twice).
    try {
      await this.replays.record(id, entry.topic, user.username);
      return { ok: true, entry, sent, recorded: true };
    } catch (recordError) {
      return { ok: true, entry, sent, recorded: false, recordError };
    }
  }

  /** Back to the partition it was read from: the same key's later messages are there. */
  private async sendBack(entry: DeadLetterEntry, id: string, topic: string): Promise<ReplaySent> {
    const { record } = entry;
    const message = {
      key: record.key ?? null,
      value: Buffer.from(record.valueBase64, 'base64'),
      headers: replayHeaders(record, id),
      partition: record.partition,
    };
    await this.sender.send(topic, [message]);
    return { kind: 'topic', topic, partition: record.partition };
  }
}
