export * from './types';
export type { Interval } from './intervals';
export { VIDEO_EVENT_KINDS, VIDEO_MAX_RATE, VIDEO_SLACK_SECONDS, VIDEO_MAX_GAP_SECONDS } from './reports';
export { summarizeVideoSession, videoSessionOf } from './timeline';
export type { VideoEventLike, VideoSessionEntry } from './timeline';
