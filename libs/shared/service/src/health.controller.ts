import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Registry } from '@mosaic/shared-logging';
import type { CommonConfig } from '@mosaic/shared-config';
import { MOSAIC_CONFIG, MOSAIC_METRICS } from './tokens';
import { ReadinessRegistry } from './readiness';

/** `/health` (liveness), `/ready` (readiness), `/metrics` (Prometheus) on every service. */
@ApiExcludeController()
@Controller()
export class HealthController {
  private readonly startedAt = Date.now();
  constructor(
    @Inject(MOSAIC_CONFIG) private readonly config: CommonConfig,
    @Inject(MOSAIC_METRICS) private readonly registry: Registry,
    private readonly readiness: ReadinessRegistry,
  ) {}

  @Get('health')
  health(): { status: 'ok'; service: string; instance: string; uptimeSeconds: number } {
    return { status: 'ok', service: this.config.service, instance: this.config.instanceId, uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000) };
  }

  @Get('ready')
  async ready(@Res() reply: FastifyReply): Promise<void> {
    const results = await Promise.all(
      this.readiness.list().map(async (c) => {
        try {
          return { name: c.name, ...(await c.check()) };
        } catch (err) {
          return { name: c.name, ok: false, detail: (err as Error).message };
        }
      }),
    );
    const ok = results.every((r) => r.ok);
    void reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not_ready', service: this.config.service, checks: results });
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
