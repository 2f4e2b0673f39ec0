/**
 * Bodies and answers of the sources admin API. The bodies are validated with class-validator
 * (`validateSourceBody`); each constraint carries the code and message the API has always
 * answered (`name: must be a non-empty string`, `invalid_allowed_origins` with the origin
 * problems, …), one problem per answer, the first field first.
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { plainToInstance, type ClassConstructor } from 'class-transformer';
import { IsString, Matches, MaxLength, MinLength, ValidateBy, validateSync, type ValidationError } from 'class-validator';
import { parseAllowedOrigins } from '@mosaic/contracts';
import { CollectorInputError, parseJsonBody } from '@mosaic/collector-domain';
import { ApiError } from '@mosaic/shared-service';

/** class-validator `context` of a constraint: the error code it answers, and the details when there are some. */
interface ErrorContext {
  code: string;
  details?: (value: unknown) => unknown;
}

const NAME_REQUIRED = { message: 'name: must be a non-empty string', context: { code: 'invalid_name' } satisfies ErrorContext };
const WRITE_KEY = { message: 'writeKey: must be a non-empty string of at most 200 characters', context: { code: 'invalid_write_key' } satisfies ErrorContext };

function originProblems(value: unknown): string[] {
  const r = parseAllowedOrigins(value);
  return r.ok ? [] : r.errors;
}

/** A list of origins (`parseAllowedOrigins`); `required` also refuses an absent one. */
function IsAllowedOrigins(required: boolean): PropertyDecorator {
  const context: ErrorContext = { code: 'invalid_allowed_origins', details: (value) => (value === undefined ? undefined : originProblems(value)) };
  return ValidateBy(
    {
      name: 'isAllowedOrigins',
      validator: {
        validate: (value: unknown) => (value === undefined ? !required : originProblems(value).length === 0),
        defaultMessage: (args) => (args?.value === undefined ? 'allowedOrigins: required' : originProblems(args?.value).join('; ')),
      },
    },
    { context },
  );
}

/** The origins of a validated list, normalised. */
export function allowedOrigins(value: string[] | undefined): string[] {
  const r = parseAllowedOrigins(value ?? []);
  return r.ok ? r.origins : [];
}

export class CreateSourceDto {
  // class-validator runs a property's constraints bottom-up: emptiness is reported before length.
  @ApiProperty({ example: 'website', maxLength: 200 })
  @MaxLength(200, { message: 'name: must be at most 200 characters', context: { code: 'invalid_name' } })
  @Matches(/\S/, NAME_REQUIRED)
  @IsString(NAME_REQUIRED)
  name!: string;

  @ApiPropertyOptional({
    example: ['https://shop.example.com'],
    description: 'Exact browser origins allowed to call the decision API with this source (default: none)',
  })
  @IsAllowedOrigins(false)
  allowedOrigins?: string[];
}

export class PatchSourceDto {
  @ApiProperty({ example: ['https://shop.example.com', 'http://127.0.0.1:8091'], description: 'Replaces the allowed origins' })
  @IsAllowedOrigins(true)
  allowedOrigins!: string[];
}

export class VerifyWriteKeyDto {
  @ApiProperty({ maxLength: 200 })
  @MaxLength(200, WRITE_KEY)
  @MinLength(1, WRITE_KEY)
  @IsString(WRITE_KEY)
  writeKey!: string;
}

export class SourceResponse {
  @ApiProperty() id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'First characters of the write key' }) writeKeyPrefix!: string;
  @ApiProperty({ nullable: true, type: String, description: 'First characters of the server key' }) serverKeyPrefix!: string | null;
  @ApiProperty({ description: 'Whether an identity-verification secret is set (userHash can be checked)' }) identityVerification!: boolean;
  @ApiProperty({ type: [String] }) allowedOrigins!: string[];
  @ApiProperty() createdAt!: string;
  @ApiProperty() updatedAt!: string;
  @ApiProperty({ nullable: true, type: String }) revokedAt!: string | null;
}

export class CreatedSourceResponse extends SourceResponse {
  @ApiProperty({ description: 'The write key (public, for browsers and SDKs). Shown once: only its digest is stored.' }) writeKey!: string;
  @ApiProperty({ description: 'The server key (`sk_…`, secret: server-side decision API calls). Shown once: only its digest is stored.' }) serverKey!: string;
  @ApiProperty({ description: "The identity-verification secret (secret: the site's server signs user ids with it). Also answered when rotated." })
  identitySecret!: string;
}

export class IdentitySecretResponse extends SourceResponse {
  @ApiProperty() identitySecret!: string;
}

export class ServerKeyResponse extends SourceResponse {
  @ApiProperty({ description: 'Shown once' }) serverKey!: string;
}

/** The raw request body (the collector parses bodies itself) as a JSON object; 4xx naming the problem. */
function jsonObject(raw: unknown): Record<string, unknown> {
  let body: unknown;
  try {
    body = parseJsonBody(Buffer.isBuffer(raw) ? raw.toString('utf8') : '');
  } catch (err) {
    if (err instanceof CollectorInputError) throw new ApiError(err.status, err.code, err.message);
    throw err;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError(400, 'invalid_request', 'the body must be a JSON object');
  return body as Record<string, unknown>;
}

/** The first problem of a DTO as the API's 400: its constraint's code and message. */
function toApiError(errors: readonly ValidationError[]): ApiError {
  const unknownFields = errors.filter((e) => e.constraints?.['whitelistValidation']).map((e) => e.property);
  if (unknownFields.length > 0) return new ApiError(400, 'invalid_request', `${unknownFields.join(', ')}: cannot be changed (only allowedOrigins)`);
  const first = errors[0] as ValidationError;
  const [constraint, message] = Object.entries(first.constraints ?? {})[0] as [string, string];
  const context = first.contexts?.[constraint] as ErrorContext;
  return new ApiError(400, context.code, message, context.details?.(first.value));
}

/**
 * The raw body as a validated DTO, else the 4xx the API answers. `onlyKnownFields` refuses
 * other fields (PATCH: only what can be changed); elsewhere they are ignored.
 */
export function validateSourceBody<T extends object>(cls: ClassConstructor<T>, raw: unknown, onlyKnownFields = false): T {
  const dto = plainToInstance(cls, jsonObject(raw));
  const errors = validateSync(dto, { stopAtFirstError: true, ...(onlyKnownFields ? { whitelist: true, forbidNonWhitelisted: true } : {}) });
  if (errors.length > 0) throw toApiError(errors);
  return dto;
}
