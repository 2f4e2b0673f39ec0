import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/**
 * `PUT /v1/rules` (OpenAPI only): the document is validated by the domain's
 * `parseIdentityRules` (the one validator of stored rules too), whose errors name each path.
 */
export class RulesDocumentDto {
  @ApiPropertyOptional({
    description: '{<type>: {limit, priority, blocked: {values, patterns}}}',
    example: { email: { limit: 3 }, 'external:crm_id': { limit: 1, priority: 2 } },
  })
  types?: Record<string, unknown>;
  @ApiPropertyOptional({
    description: 'values and patterns never used as identifiers, whatever the type',
    example: { values: ['', 'anonymous', 'null', 'test@example.com'] },
  })
  blocked?: Record<string, unknown>;
  @ApiPropertyOptional({ type: [String], description: 'track events whose properties.email is an identifier (the email and order events)' })
  emailEvents?: string[];
  @ApiPropertyOptional({ description: 'how long a merged profile redirects (ms)' }) redirectTtlMs?: number;
  @ApiPropertyOptional({ description: 'a reservation (pending claim / merge intent) older than this (ms) is considered abandoned' }) pendingClaimTtlMs?: number;
}

export class RulesResponse {
  @ApiProperty({ description: '0 while the defaults apply' }) version!: number;
  @ApiProperty({ enum: ['default', 'stored'] }) source!: string;
  @ApiProperty({ nullable: true, type: String }) updatedAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) updatedBy!: string | null;
  @ApiProperty({ description: 'the effective rules (defaults filled in)' }) rules!: Record<string, unknown>;
  @ApiProperty({ nullable: true, description: 'the stored document as given to PUT' }) input!: unknown;
}
