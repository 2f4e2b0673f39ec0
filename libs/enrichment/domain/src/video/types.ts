/** The stored shapes of video engagement: internal bookkeeping and the computed attributes. */
import type { Interval } from './intervals';
import type { VideoReport, WalkState } from './reports';

/** What the reports that left a session's bounded list had credited. */
export interface SessionSealed {
  watched: Interval[];
  forward: number;
  back: number;
  skipped: number;
  rewound: number;
  completed: boolean;
}

/** One live video session (`session_id`): its recent reports, in event-time order. */
export interface VideoSessionState {
  id: string;
  /** The video: `content_asset_id` (or `asset_id`). */
  key: string;
  title?: string;
  length?: number;
  productId?: string;
  /** Event times (ms) of its first and latest event. */
  first: number;
  last: number;
  /** At most `maxVideoReports`, sorted by `compareReports`. */
  reports: VideoReport[];
  /** The walk's state after the last report that left `reports` (later reports continue from it). */
  carry?: WalkState;
  sealed: SessionSealed;
}

/** Per video: what its closed sessions added up to. */
export interface VideoTally {
  watched: Interval[];
  sessions: number;
  completions: number;
  forward: number;
  back: number;
  skipped: number;
  rewound: number;
  /** The largest share of the video one session skipped forward. */
  maxSkippedShare: number;
}

export interface VideoRecordState {
  key: string;
  title?: string;
  length?: number;
  productId?: string;
  first: number;
  last: number;
  tally: VideoTally;
}

/** Videos that fell off the bounded list: still in the per-contact totals. */
export interface VideoDropped {
  videos: number;
  sessions: number;
  completions: number;
  seconds: number;
  /** Sum of their shares watched, and how many had a length (for the average). */
  shareSum: number;
  shared: number;
}

export interface VideoInternal {
  /** Most recently active first; at most `maxVideoSessions`. */
  sessions: VideoSessionState[];
  /** Videos with closed sessions (sealed tallies). */
  videos: VideoRecordState[];
  /** Ids of closed sessions (late events of those are ignored); at most `maxClosedVideoSessions`. */
  closed: string[];
  dropped: VideoDropped;
}

/** Figures of one session or one video (seconds; shares 0..1). */
export interface VideoFigures {
  /** Seconds of the video played, as a union of intervals (a rewatched part counts once). */
  watchedSeconds: number;
  /** watchedSeconds / length, at most 1; absent while the length is unknown. */
  shareWatched?: number;
  /** The played intervals `{from, to}` (seconds, merged, at most `maxVideoIntervals`). */
  watched: Interval[];
  seeksForward: number;
  seeksBack: number;
  /** Seconds jumped over by forward seeks, and jumped back by backward ones. */
  skippedSeconds: number;
  rewoundSeconds: number;
  /** Session: skippedSeconds / length (at most 1); video: the largest of its sessions'. */
  skippedShare?: number;
}

export interface VideoRecord extends VideoFigures {
  key: string;
  title?: string;
  length?: number;
  productId?: string;
  sessions: number;
  completions: number;
  firstWatchedAt: string;
  lastWatchedAt: string;
}

export interface VideoSessionSummary extends VideoFigures {
  id: string;
  key: string;
  title?: string;
  length?: number;
  productId?: string;
  startedAt: string;
  lastAt: string;
  completed: boolean;
}

export interface VideoAttributes {
  /** Video sessions (playbacks) and completed ones. */
  started: number;
  completed: number;
  /** Distinct videos played. */
  videosStarted: number;
  secondsWatched: number;
  /** Average share watched over the videos with a known length. */
  shareWatched?: number;
  /** Most recently watched first; at most `maxVideos`. */
  videos: VideoRecord[];
  /** The live sessions, most recent first; at most `maxVideoSessions`. */
  sessions: VideoSessionSummary[];
}

export function emptyVideoInternal(): VideoInternal {
  return { sessions: [], videos: [], closed: [], dropped: { videos: 0, sessions: 0, completions: 0, seconds: 0, shareSum: 0, shared: 0 } };
}

export function emptyVideoAttributes(): VideoAttributes {
  return { started: 0, completed: 0, videosStarted: 0, secondsWatched: 0, videos: [], sessions: [] };
}
