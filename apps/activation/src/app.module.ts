import { Module } from '@nestjs/common';

/** Activation and the decision API (planned, issue 7): consumes nothing yet. The service boots, provisions topics, answers /health, /ready and /metrics. */
@Module({})
export class ActivationModule {}
