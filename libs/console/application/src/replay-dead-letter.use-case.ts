/**
 * Replaying a dead letter: its original key, value and headers go back to the topic it came
 * from (the same partition), where its stage tries it again (a message that fails again is dead-lettered again, as a
 * new dead letter). The stages' replay guards know its messageId, so replaying a message that was
 * in fact applied changes nothing. Each replay is recorded (who, when, how often).
 */
import { mayReplayDeadLetters, replayHeaders, replayTarget, type ConsoleUser, type DeadLetterEntry } from '@mosaic/console-domain';
import type { DeadLetterBrowser, DeadLetterReplaysRepository } from '@mosaic/console-data-access';
import type { MessageSender } from '@mosaic/shared-kafka';

export type ReplayOutcome =
  { ok: true; entry: DeadLetterEntry; topic: string } | { ok: false; reason: 'forbidden' | 'not_found' | 'not_replayable'; message: string };

export class ReplayDeadLetter {
  constructor(
    private readonly browser: DeadLetterBrowser,
    private readonly replays: DeadLetterReplaysRepository,
    private readonly sender: MessageSender,
    /** The topics the stages consume, with the prefix. */
    private readonly replayableTopics: ReadonlySet<string>,
  ) {}

  async execute(id: string, user: ConsoleUser): Promise<ReplayOutcome> {
    if (!mayReplayDeadLetters(user.role)) return { ok: false, reason: 'forbidden', message: `role ${user.role} may not replay dead letters` };
    const entry = this.browser.find(id);
    if (!entry) return { ok: false, reason: 'not_found', message: `no dead letter ${id} among the latest this console keeps` };
    const target = replayTarget(entry.record, this.replayableTopics);
    if (!target.ok) return { ok: false, reason: 'not_replayable', message: target.reason };
    const { record } = entry;
    // Back to the partition it was read from: the same key's later messages are there.
    const message = {
      key: record.key ?? null,
      value: Buffer.from(record.valueBase64, 'base64'),
      headers: replayHeaders(record, id),
      partition: record.partition,
    };
    await this.sender.send(target.topic, [message]);
    await this.replays.record(id, entry.topic, user.username);
    return { ok: true, entry, topic: target.topic };
  }
}
