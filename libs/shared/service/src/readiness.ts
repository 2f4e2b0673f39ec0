import { Injectable } from '@nestjs/common';
import type { ReadinessCheck } from './tokens';

/** Collects the readiness checks of a service (Kafka, MongoDB, consumers...). */
@Injectable()
export class ReadinessRegistry {
  private readonly checks: ReadinessCheck[] = [];
  add(check: ReadinessCheck): void {
    this.checks.push(check);
  }
  list(): readonly ReadinessCheck[] {
    return this.checks;
  }
}
