export const MOSAIC_CONFIG = Symbol.for('mosaic.config');
export const MOSAIC_LOGGER = Symbol.for('mosaic.logger');
export const MOSAIC_METRICS = Symbol.for('mosaic.metrics');
export const MOSAIC_READINESS = Symbol.for('mosaic.readiness');

/** A readiness check: `/ready` answers 200 only when every registered check passes. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<{ ok: boolean; detail?: unknown }>;
}
