import { ApiProperty } from '@nestjs/swagger';
import type { Identifier } from '@mosaic/identity-domain';
import { IdentifierDto } from './identifier.dto';

export class IdentityLookupResponse {
  @ApiProperty({ type: IdentifierDto }) identifier!: Identifier;
  @ApiProperty({
    nullable: true,
    type: String,
    description:
      'the live profile the identifier belongs to (redirects followed); null when its profile no longer exists (an expired redirect: the next event carrying it re-attaches it)',
  })
  profileId!: string | null;
  @ApiProperty({ type: [String], description: 'profiles visited from the pointer to the live one' }) path!: string[];
  @ApiProperty({ description: 'the identity document: profileId (the direct pointer), version, createdAt, updatedAt, updatedBy, movedFrom, movedBy' })
  record!: Record<string, unknown>;
}
