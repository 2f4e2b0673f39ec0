import { Module } from '@nestjs/common';

/** Identity resolution (planned, issue 4): consumes nothing yet. The service boots, provisions topics, answers /health, /ready and /metrics. */
@Module({})
export class IdentityModule {}
