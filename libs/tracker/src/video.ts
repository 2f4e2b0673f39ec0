/**
 * Segment's Video spec (https://segment.com/docs/connections/spec/video/) for one HTML5
 * `<video>`: a state machine fed with the element's media events, answering the events to
 * send. Pure: the clock and id generator are injected.
 *
 * Emitted: `Video Playback Started`, `Video Playback Paused`, `Video Playback Resumed`,
 * `Video Playback Seek Started` (with `seek_position`), `Video Playback Seek Completed`,
 * `Video Playback Completed`, `Video Content Playing` heartbeats, and — Mosaic's extension —
 * `Video Content Progress` with `progress` 25, 50, 75 and 100 (percent of the length the
 * playhead reached while playing). Every event has `session_id`, `position` and
 * `total_length` (whole seconds), `sound`, `full_screen`, `video_player` and `livestream`.
 */
import type { Props } from './types';

export interface VideoState {
  /** currentTime, seconds */
  position: number;
  /** duration, seconds (NaN before metadata, Infinity for live streams) */
  duration: number;
  volume: number;
  muted: boolean;
  fullScreen: boolean;
  /** the element's `ended` */
  ended: boolean;
  /**
   * The element's `seeking`: true from the moment a script or the viewer sets `currentTime`.
   * Events are handled after they were queued, so a `timeupdate` of the old position can be
   * handled when `currentTime` already holds the seek's target: it must not move `last`.
   */
  seeking?: boolean;
}

export type VideoEvent = [name: string, properties: Props];

export const VIDEO_MILESTONES: readonly number[] = [25, 50, 75, 100];

export class VideoSession {
  private started = false;
  private paused = true;
  private seeking = false;
  private last = 0;
  private beat = 0;
  private marks: number[] = [];
  private id: string;

  constructor(
    private readonly newId: () => string,
    private readonly heartbeatMs: number,
    /** Added to every event: content_asset_id, title, data-mosaic-prop-* of the element. */
    private readonly base: Props,
  ) {
    this.id = newId();
  }

  /** Feeds one media event (`play`, `pause`, `seeking`, `seeked`, `timeupdate`, `ended`); answers what to send. */
  handle(type: string, s: VideoState, now: number): VideoEvent[] {
    const out: VideoEvent[] = [];
    const emit = (name: string, extra?: Props): void => {
      out.push([name, this.props(s, extra)]);
    };
    if (type === 'play') {
      if (!this.started) {
        this.started = true;
        this.last = s.position;
        emit('Video Playback Started');
      } else if (this.paused && !this.seeking) emit('Video Playback Resumed');
      this.paused = false;
      this.beat = now;
    } else if (type === 'pause') {
      // The pause that ends playback, or one during a seek, is not the viewer pausing.
      if (s.ended || this.seeking || this.paused || !this.started) return out;
      this.paused = true;
      this.last = s.position;
      emit('Video Playback Paused');
    } else if (type === 'seeking') {
      if (this.seeking) return out;
      this.seeking = true;
      emit('Video Playback Seek Started', { position: Math.round(this.last), seek_position: Math.round(s.position) });
    } else if (type === 'seeked') {
      if (!this.seeking) return out;
      this.seeking = false;
      this.last = s.position;
      emit('Video Playback Seek Completed');
    } else if (type === 'timeupdate') {
      if (this.seeking || s.seeking) return out;
      this.last = s.position;
      if (!this.started || this.paused) return out;
      this.milestones(s, false, emit);
      if (now - this.beat >= this.heartbeatMs) {
        this.beat = now;
        emit('Video Content Playing');
      }
    } else if (type === 'ended') {
      if (!this.started) return out;
      this.last = s.position;
      this.milestones(s, true, emit);
      emit('Video Playback Completed');
      // Playing again starts a new session.
      this.started = false;
      this.paused = true;
      this.marks = [];
      this.id = this.newId();
    }
    return out;
  }

  private milestones(s: VideoState, ended: boolean, emit: (name: string, extra?: Props) => void): void {
    if (!(s.duration > 0) || !isFinite(s.duration)) return;
    const pct = ended ? 100 : (s.position / s.duration) * 100;
    for (const m of VIDEO_MILESTONES) {
      if (pct >= m && this.marks.indexOf(m) < 0) {
        this.marks.push(m);
        emit('Video Content Progress', { progress: m });
      }
    }
  }

  private props(s: VideoState, extra?: Props): Props {
    const finite = s.duration > 0 && isFinite(s.duration);
    const p: Props = {
      session_id: this.id,
      position: Math.round(s.position),
      total_length: finite ? Math.round(s.duration) : undefined,
      sound: s.muted ? 0 : Math.round(s.volume * 100),
      full_screen: s.fullScreen,
      video_player: 'html5',
      livestream: s.duration === Infinity,
    };
    for (const k in this.base) p[k] = this.base[k];
    if (extra) for (const k in extra) p[k] = extra[k];
    return p;
  }
}
