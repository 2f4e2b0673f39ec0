// The instance's pending announcements on identity.profile-writes (pure: a sender the test holds, no I/O).
import type { MessageSender } from '@mosaic/shared-kafka';
import { ProfileWritesAnnouncer } from './profile-writes.announcer';

/** A sender whose sends wait until the test lets them through (or fail them). */
function heldSender(): { sender: MessageSender; release: (err?: Error) => void; sends: number } {
  const state = { sends: 0, release: (_err?: Error) => undefined as void };
  const sender: MessageSender = {
    send: () =>
      new Promise<void>((resolve, reject) => {
        state.sends += 1;
        state.release = (err) => (err ? reject(err) : resolve());
      }),
  };
  return {
    sender,
    release: (err) => state.release(err),
    get sends() {
      return state.sends;
    },
  };
}

const topics = { identityProfileWrites: 'identity.profile-writes' };

describe('ProfileWritesAnnouncer', () => {
  it('keeps a profile pending when it is changed again while its announcement is under way', async () => {
    const held = heldSender();
    const announcer = new ProfileWritesAnnouncer({ producer: held.sender, topics, instanceId: 'i' });
    announcer.note(['p1', 'p2']);
    const first = announcer.announce();
    announcer.note(['p2']); // another batch changed p2 after the record above was made
    held.release();
    await first;
    expect(announcer.toAnnounce()).toEqual(['p2']);
  });

  it('keeps everything pending when Kafka refused the announcement, and sends nothing when nothing is pending', async () => {
    const held = heldSender();
    const announcer = new ProfileWritesAnnouncer({ producer: held.sender, topics, instanceId: 'i' });
    await announcer.announce();
    expect(held.sends).toBe(0);
    announcer.note(['p1']);
    const refused = announcer.announce();
    held.release(new Error('broker down'));
    await expect(refused).rejects.toThrow('broker down');
    expect(announcer.toAnnounce()).toEqual(['p1']);
  });
});
