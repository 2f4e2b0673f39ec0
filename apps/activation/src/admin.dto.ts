/**
 * The admin API's bodies and queries. Query parameters are validated with class-validator (a
 * problem is a 400 `invalid_request` naming the parameter). Destinations, triggers and
 * experiences are validated by the domain (`validateDestination`, `validateTrigger`,
 * `validateExperience`: every error by JSON path, 400 `invalid_<what>`); their DTOs describe
 * the bodies for OpenAPI.
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { plainToInstance, type ClassConstructor } from 'class-transformer';
import { IsIn, IsOptional, ValidateBy, validateSync } from 'class-validator';
import { DESTINATION_KINDS, EXPERIENCE_LIMITS, TRIGGER_ON } from '@mosaic/activation-domain';
import { ApiError } from '@mosaic/shared-service';

const DELIVERY_STATUSES = ['pending', 'delivered', 'dead', 'skipped'] as const;

/** The validated query (400 `invalid_request` with the first problem). */
export function queryOf<T extends object>(dto: ClassConstructor<T>, raw: unknown): T {
  const query = plainToInstance(dto, raw ?? {});
  const [first] = validateSync(query, { stopAtFirstError: true });
  if (first) throw new ApiError(400, 'invalid_request', Object.values(first.constraints ?? {})[0] ?? `${first.property}: invalid`);
  return query;
}

/** An integer parameter from `min` to `max` (absent or empty: the default). */
function IntParam(min: number, max: number): PropertyDecorator {
  return ValidateBy({
    name: 'intParam',
    validator: {
      validate: (v: unknown) => v === '' || (Number.isInteger(Number(v)) && Number(v) >= min && Number(v) <= max),
      defaultMessage: (args) => `${args?.property ?? 'value'}: must be an integer from ${min} to ${max}`,
    },
  });
}

export class DeliveriesQueryDto {
  @ApiPropertyOptional()
  @IsOptional()
  destinationId?: string;

  @ApiPropertyOptional({ enum: DELIVERY_STATUSES })
  @IsOptional()
  @IsIn(DELIVERY_STATUSES, { message: 'status: must be pending, delivered, dead or skipped' })
  status?: string;

  @ApiPropertyOptional()
  @IsOptional()
  profileId?: string;

  @ApiPropertyOptional({ description: '1–500, default 50' })
  @IsOptional()
  @IntParam(1, 500)
  limit?: string;
}

/** A destination: the fields of its kind (validated by the domain). */
export class DestinationBodyDto {
  @ApiProperty({ enum: [...DESTINATION_KINDS] }) kind!: string;
  @ApiProperty() name!: string;
  @ApiPropertyOptional({ description: 'default true' }) enabled?: boolean;
  @ApiPropertyOptional({ description: 'webhook: the https URL' }) url?: string;
  @ApiPropertyOptional({ description: 'webhook: the signing secret (whsec_…); generated when absent' }) secret?: string;
  @ApiPropertyOptional({ description: 'webhook: extra request headers' }) headers?: Record<string, string>;
  @ApiPropertyOptional({ description: 'webhook' }) rateLimitPerSecond?: number;
  @ApiPropertyOptional({ description: 'webhook: requests in flight at most' }) concurrency?: number;
  @ApiPropertyOptional({ description: 'webhook' }) timeoutMs?: number;
  @ApiPropertyOptional({ description: 'kafka: the topic (created when absent)' }) topic?: string;
  @ApiPropertyOptional({ description: 'email: {host, port, secure?, user?, password?}' }) smtp?: Record<string, unknown>;
  @ApiPropertyOptional({ description: 'email' }) from?: string;
  @ApiPropertyOptional({ description: 'email: Liquid template' }) subject?: string;
  @ApiPropertyOptional({ description: 'email: Liquid template (HTML-escaped)' }) html?: string;
  @ApiPropertyOptional({ description: 'email: Liquid template of the recipient' }) to?: string;
}

class FrequencyCapDto {
  @ApiProperty() max!: number;
  @ApiProperty() perSeconds!: number;
}

/** A trigger (validated by the domain). */
export class TriggerBodyDto {
  @ApiProperty() segmentKey!: string;
  @ApiProperty({ enum: [...TRIGGER_ON] }) on!: string;
  @ApiProperty() destinationId!: string;
  @ApiPropertyOptional({ description: 'default 0' }) delaySeconds?: number;
  @ApiPropertyOptional({ type: FrequencyCapDto }) frequencyCap?: FrequencyCapDto;
}

/** An experience (validated by the domain; see `validateExperience`). */
export class ExperienceBodyDto {
  @ApiProperty() id!: string;
  @ApiProperty() slot!: string;
  @ApiProperty() name!: string;
  @ApiPropertyOptional({ description: 'default true' }) enabled?: boolean;
  @ApiPropertyOptional({ description: '0–100, default 0' }) holdoutPercent?: number;
  @ApiPropertyOptional({
    description: `at most ${EXPERIENCE_LIMITS.maxRules}: [{id, when?: {segments?: {all?, any?, none?}, traits?, attributes?}, content: {html|text|json}}]`,
    type: [Object],
  })
  rules?: Record<string, unknown>[];
  @ApiProperty({ description: '{html} or {text} or {json}' }) default!: Record<string, unknown>;
}
