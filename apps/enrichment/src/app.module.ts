import { Module } from '@nestjs/common';

/** Profile enrichment (planned, issue 5): consumes nothing yet. The service boots, provisions topics, answers /health, /ready and /metrics. */
@Module({})
export class EnrichmentModule {}
