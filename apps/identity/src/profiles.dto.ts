import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsOptional, IsString, Matches, MaxLength, ValidateNested } from 'class-validator';
import { Transform, plainToInstance } from 'class-transformer';
import type { Identifier } from '@mosaic/identity-domain';
import { IdentifierDto } from './identifier.dto';

const NAME_ONE = 'name at least one identifier to split off ([{type, value}])';
const REASON = 'must be a non-empty string of at most 1000 characters';

/** Every entry as an IdentifierDto; an entry that is not an object is validated as an empty one (so its error names it). */
function toEntries({ obj }: { obj: Record<string, unknown> }): unknown {
  const raw = obj['identifiers'];
  if (!Array.isArray(raw)) return raw;
  return raw.map((entry: unknown) => plainToInstance(IdentifierDto, typeof entry === 'object' && entry !== null && !Array.isArray(entry) ? entry : {}));
}

/** `POST /v1/profiles/{id}/split`. */
export class SplitRequestDto {
  @ApiProperty({ type: [IdentifierDto], description: 'the identifiers the new profile takes (they must belong to the profile; at least one must stay)' })
  @ValidateNested({ each: true })
  @Transform(toEntries)
  // class-validator checks these bottom-up and reports the first that fails.
  @ArrayMaxSize(1000, { message: 'at most 1000 identifiers' })
  @ArrayMinSize(1, { message: NAME_ONE })
  @IsArray({ message: NAME_ONE })
  identifiers!: IdentifierDto[];

  @ApiPropertyOptional({ description: 'why (audit and notice)', example: 'shared family tablet' })
  @IsOptional()
  @IsString({ message: REASON })
  @MaxLength(1000, { message: REASON })
  @Matches(/\S/, { message: REASON })
  reason?: string;
}

export class ProfileResponse {
  @ApiProperty({ description: 'the id asked for' }) requestedId!: string;
  @ApiProperty({ description: 'the live profile that answered (differs from requestedId when that one was merged)' }) profileId!: string;
  @ApiProperty({ type: [String], description: 'redirects followed, from requestedId to profileId' }) path!: string[];
  @ApiProperty() redirected!: boolean;
  @ApiPropertyOptional({ description: 'the merged profile asked for: mergedInto, mergedAt, mergedBy, expiresAt, identifiers it held' }) requested?: Record<
    string,
    unknown
  >;
  @ApiProperty({ description: 'the live profile: status, known, version, identifiers, pending, mergeHistory, createdAt/By, updatedAt/By, splitFrom' })
  profile!: Record<string, unknown>;
}

export class AuditResponse {
  @ApiProperty() profileId!: string;
  @ApiProperty({ description: 'newest first: merge, refused, moved, created, split — with the triggering message id and the rule that decided' })
  records!: Record<string, unknown>[];
  @ApiPropertyOptional({ description: 'pass as `before` for the next page' }) next?: string;
}

export class SplitResponse {
  @ApiProperty() operationId!: string;
  @ApiProperty() fromProfileId!: string;
  @ApiProperty() newProfileId!: string;
  @ApiProperty({ type: [IdentifierDto] }) identifiers!: Identifier[];
  @ApiProperty({ description: 'true when this operation id had already completed (nothing written again)' }) alreadyApplied!: boolean;
}
