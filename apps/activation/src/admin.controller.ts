import { randomBytes } from 'node:crypto';
import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Put, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { generateSecret, validateDestination, validateTrigger, type Destination } from '@mosaic/activation-domain';
import { newId, type DeliveryDocument, type DestinationDocument, type TriggerDocument } from '@mosaic/activation-data-access';
import { AdminAuthGuard, ApiError, invalidInput } from '@mosaic/shared-service';
import { DeliveriesQueryDto, DestinationBodyDto, TriggerBodyDto, queryOf } from './admin.dto';
import { ActivationService } from './activation.service';

const ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The body as an object for the domain's validator (which names every problem by its JSON path). */
function objectBody(what: string, body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidInput(what, [{ path: '$', message: 'must be a JSON object' }]);
  return body as Record<string, unknown>;
}

/** A destination as the API shows it: secrets and passwords are never listed. */
function destinationView(d: DestinationDocument, reveal = false): Record<string, unknown> {
  const config = JSON.parse(d.config) as Record<string, unknown>;
  if (!reveal && typeof config['secret'] === 'string') config['secret'] = `${(config['secret'] as string).slice(0, 10)}…`;
  const smtp = config['smtp'] as Record<string, unknown> | undefined;
  if (smtp?.['password'] !== undefined) config['smtp'] = { ...smtp, password: '…' };
  return { ...config, id: d._id, name: d.name, enabled: d.enabled, createdAt: d.createdAt.toISOString(), updatedAt: d.updatedAt.toISOString() };
}

function triggerView(t: TriggerDocument): Record<string, unknown> {
  return {
    id: t._id,
    segmentKey: t.segmentKey,
    on: t.on,
    destinationId: t.destinationId,
    delaySeconds: t.delaySeconds,
    frequencyCap: t.frequencyCap ? JSON.parse(t.frequencyCap) : null,
    enabled: t.enabled,
    createdAt: t.createdAt.toISOString(),
  };
}

function deliveryView(d: DeliveryDocument): Record<string, unknown> {
  return {
    id: d._id,
    destinationId: d.destinationId,
    triggerId: d.triggerId,
    profileId: d.profileId,
    segmentKey: d.segmentKey,
    change: d.change,
    status: d.status,
    ...(d.skipReason ? { skipReason: d.skipReason } : {}),
    attempts: d.attempts,
    dueAt: d.dueAt.toISOString(),
    nextAttemptAt: d.nextAttemptAt ? d.nextAttemptAt.toISOString() : null,
    deliveredAt: d.deliveredAt ? d.deliveredAt.toISOString() : null,
    createdAt: d.createdAt.toISOString(),
    log: d.log.map((a) => ({ ...a, at: new Date(a.at).toISOString() })),
  };
}

/** Destinations (webhook, email, Kafka topic). */
@ApiTags('destinations (admin)')
@ApiBearerAuth('admin')
@UseGuards(AdminAuthGuard)
@Controller('v1/destinations')
export class DestinationsController {
  constructor(@Inject(ActivationService) private readonly activation: ActivationService) {}

  private async find(id: string): Promise<DestinationDocument> {
    const d = ID.test(id) ? await this.activation.destinations.findById(id) : null;
    if (!d) throw new ApiError(404, 'not_found', `destination ${id} not found`);
    return d;
  }

  private async check(body: unknown, id: string, keepSecret?: string): Promise<Destination> {
    const input: Record<string, unknown> = { ...objectBody('destination', body), id };
    if (input['kind'] === 'webhook' && input['secret'] === undefined) input['secret'] = keepSecret ?? generateSecret(randomBytes(32));
    const r = validateDestination(input, { outboundAllow: this.activation.outbound.allow });
    if (!r.ok) throw invalidInput('destination', r.errors);
    if (r.value.kind === 'kafka') await this.activation.destinationTopics.ensure(r.value.topic);
    return r.value;
  }

  @Post()
  @ApiOperation({
    summary:
      'Create a destination: webhook {url, secret?, headers?, rateLimitPerSecond?, concurrency?, timeoutMs?}, kafka {topic}, email {smtp, from, subject, html, to?}. The webhook secret (generated when absent) is shown once here and at GET /v1/destinations/{id}/secret.',
  })
  @ApiBody({ type: DestinationBodyDto, examples: { webhook: { value: { kind: 'webhook', name: 'CRM', url: 'https://crm.example.com/hooks/mosaic' } } } })
  async create(@Body() body: unknown): Promise<Record<string, unknown>> {
    const id = newId('dst');
    const dest = await this.check(body, id);
    const now = new Date();
    const { id: _id, name, enabled, ...config } = dest;
    const doc: DestinationDocument = { _id, kind: dest.kind, name, enabled, config: JSON.stringify(config), createdAt: now, updatedAt: now };
    await this.activation.destinations.insert(doc);
    await this.activation.config.reload();
    return destinationView(doc, true);
  }

  @Get()
  @ApiOperation({ summary: 'Every destination (secrets and passwords elided)' })
  async list(): Promise<{ destinations: Record<string, unknown>[] }> {
    const docs = await this.activation.destinations.list();
    return { destinations: docs.map((d) => destinationView(d)) };
  }

  @Get(':id')
  @ApiOperation({ summary: 'A destination (secrets elided)' })
  async get(@Param('id') id: string): Promise<Record<string, unknown>> {
    return destinationView(await this.find(id));
  }

  @Get(':id/secret')
  @ApiOperation({ summary: "A webhook destination's signing secret (whsec_…), for the receiver's verification" })
  async secret(@Param('id') id: string): Promise<{ secret: string }> {
    const d = await this.find(id);
    const secret = (JSON.parse(d.config) as { secret?: string }).secret;
    if (!secret) throw new ApiError(404, 'not_found', `destination ${id} has no secret (it is not a webhook)`);
    return { secret };
  }

  @Put(':id')
  @ApiOperation({ summary: 'Replace a destination (a webhook keeps its secret unless a new one is given)' })
  @ApiBody({ type: DestinationBodyDto })
  async update(@Param('id') id: string, @Body() body: unknown): Promise<Record<string, unknown>> {
    const held = await this.find(id);
    const dest = await this.check(body, id, (JSON.parse(held.config) as { secret?: string }).secret);
    const { id: _id, name, enabled, ...config } = dest;
    const doc: DestinationDocument = { ...held, kind: dest.kind, name, enabled, config: JSON.stringify(config), updatedAt: new Date() };
    await this.activation.destinations.replace(doc);
    await this.activation.config.reload();
    return destinationView(doc);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a destination (409 while triggers use it); its pending deliveries become skipped' })
  async remove(@Param('id') id: string): Promise<void> {
    await this.find(id);
    const used = await this.activation.triggers.countByDestination(id);
    if (used > 0) throw new ApiError(409, 'conflict', `destination ${id} is used by ${used} trigger(s); delete them first`);
    // Before the delete: should this fail, the destination is still there to delete again.
    await this.activation.deliveries.skipPendingOf(id, `destination ${id} was deleted`);
    await this.activation.destinations.delete(id);
    await this.activation.config.reload();
  }

  @Post(':id/replay')
  @HttpCode(200)
  @ApiOperation({ summary: 'Replay the dead deliveries of a destination (attempts start again)' })
  async replay(@Param('id') id: string): Promise<{ replayed: number }> {
    await this.find(id);
    const replayed = await this.activation.deliveries.replay({ destinationId: id });
    this.activation.dispatchSoon();
    return { replayed };
  }
}

/** Triggers: on entering or exiting a segment, deliver to a destination. */
@ApiTags('triggers (admin)')
@ApiBearerAuth('admin')
@UseGuards(AdminAuthGuard)
@Controller('v1/triggers')
export class TriggersController {
  constructor(@Inject(ActivationService) private readonly activation: ActivationService) {}

  @Post()
  @ApiOperation({ summary: 'Create a trigger {segmentKey, on: entered|exited, destinationId, delaySeconds?, frequencyCap?: {max, perSeconds}}' })
  @ApiBody({
    type: TriggerBodyDto,
    examples: { capped: { value: { segmentKey: 'high-ltv', on: 'entered', destinationId: 'dst_…', frequencyCap: { max: 1, perSeconds: 86400 } } } },
  })
  async create(@Body() body: unknown): Promise<Record<string, unknown>> {
    const id = newId('trg');
    const r = validateTrigger({ ...objectBody('trigger', body), id });
    if (!r.ok) throw invalidInput('trigger', r.errors);
    const t = r.value;
    if (!(await this.activation.destinations.exists(t.destinationId)))
      throw invalidInput('trigger', [{ path: 'destinationId', message: `no destination ${t.destinationId}` }]);
    const now = new Date();
    const doc: TriggerDocument = {
      _id: id,
      segmentKey: t.segmentKey,
      on: t.on,
      destinationId: t.destinationId,
      delaySeconds: t.delaySeconds ?? 0,
      frequencyCap: t.frequencyCap ? JSON.stringify(t.frequencyCap) : null,
      enabled: true,
      createdAt: now,
      updatedAt: now,
    };
    await this.activation.triggers.insert(doc);
    await this.activation.config.reload();
    return triggerView(doc);
  }

  @Get()
  @ApiOperation({ summary: 'Every trigger' })
  async list(): Promise<{ triggers: Record<string, unknown>[] }> {
    return { triggers: (await this.activation.triggers.list()).map(triggerView) };
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a trigger (its pending deliveries are still sent)' })
  async remove(@Param('id') id: string): Promise<void> {
    if (!(await this.activation.triggers.delete(id))) throw new ApiError(404, 'not_found', `trigger ${id} not found`);
    await this.activation.config.reload();
  }
}

/** The delivery log. */
@ApiTags('deliveries (admin)')
@ApiBearerAuth('admin')
@UseGuards(AdminAuthGuard)
@Controller('v1/deliveries')
export class DeliveriesController {
  constructor(@Inject(ActivationService) private readonly activation: ActivationService) {}

  @Get()
  @ApiOperation({ summary: 'Deliveries, newest first, with every attempt (status, HTTP status, duration, error)' })
  async list(@Query() raw: DeliveriesQueryDto): Promise<{ deliveries: Record<string, unknown>[] }> {
    const q = queryOf(DeliveriesQueryDto, raw);
    const limit = q.limit === undefined || q.limit === '' ? 50 : Number(q.limit);
    return {
      deliveries: (await this.activation.deliveries.list({ destinationId: q.destinationId, status: q.status, profileId: q.profileId, limit })).map(
        deliveryView,
      ),
    };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One delivery with its attempts' })
  async get(@Param('id') id: string): Promise<Record<string, unknown>> {
    const d = await this.activation.deliveries.findById(id);
    if (!d) throw new ApiError(404, 'not_found', `delivery ${id} not found`);
    return deliveryView(d);
  }

  @Post(':id/replay')
  @HttpCode(200)
  @ApiOperation({ summary: 'Replay a dead delivery (409 if it is not dead)' })
  async replay(@Param('id') id: string): Promise<{ replayed: number }> {
    const d = await this.activation.deliveries.findById(id);
    if (!d) throw new ApiError(404, 'not_found', `delivery ${id} not found`);
    if (d.status !== 'dead') throw new ApiError(409, 'conflict', `delivery ${id} is ${d.status}, not dead`);
    const replayed = await this.activation.deliveries.replay({ ids: [id] });
    this.activation.dispatchSoon();
    return { replayed };
  }
}
