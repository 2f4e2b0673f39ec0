/** Prometheus metrics: one registry per process, exposed by the service's `/metrics`. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export { Counter, Gauge, Histogram, Registry };

export function createMetricsRegistry(labels: { service: string; instance?: string }): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service: labels.service, ...(labels.instance ? { instance: labels.instance } : {}) });
  collectDefaultMetrics({ register: registry, prefix: 'mosaic_' });
  return registry;
}

/** Returns the existing metric of that name in the registry, or registers a new one. */
export function getOrCreate<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}
