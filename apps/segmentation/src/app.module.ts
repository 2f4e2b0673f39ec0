import { Module } from '@nestjs/common';

/** Segmentation (planned, issue 6): consumes nothing yet. The service boots, provisions topics, answers /health, /ready and /metrics. */
@Module({})
export class SegmentationModule {}
