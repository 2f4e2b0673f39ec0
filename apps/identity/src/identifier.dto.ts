import { ApiProperty } from '@nestjs/swagger';
import { IsString, Validate, ValidatorConstraint, type ValidationArguments, type ValidatorConstraintInterface } from 'class-validator';
import { UNKNOWN_IDENTIFIER_TYPE, normalizeIdentifier } from '@mosaic/identity-application';
import { isValidIdentifierType, type Identifier } from '@mosaic/identity-domain';
import { REPORT_AT_PARENT } from './validate-body';

/** A string that names no identifier type (a non-string is IsString's to report, at the entry). */
@ValidatorConstraint({ name: 'knownIdentifierType' })
class KnownIdentifierType implements ValidatorConstraintInterface {
  validate(type: unknown): boolean {
    return typeof type !== 'string' || isValidIdentifierType(type);
  }

  defaultMessage(): string {
    return UNKNOWN_IDENTIFIER_TYPE;
  }
}

/** A value that normalises for its type (email, phone); checked only once the type is known. */
@ValidatorConstraint({ name: 'normalizableIdentifierValue' })
class NormalizableIdentifierValue implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    const { type } = args.object as { type?: unknown };
    return typeof type !== 'string' || !isValidIdentifierType(type) || normalizeIdentifier(type, value).ok;
  }

  defaultMessage(args: ValidationArguments): string {
    const result = normalizeIdentifier((args.object as { type?: unknown }).type, args.value);
    return result.ok ? '' : result.message;
  }
}

/** An identifier in a request body, validated as extraction normalises it (errors name the entry, or its `type`). */
export class IdentifierDto {
  @ApiProperty({ example: 'email', description: 'userId, email, phone, anonymousId or external:<name>' })
  @Validate(KnownIdentifierType)
  @IsString({ message: UNKNOWN_IDENTIFIER_TYPE, context: REPORT_AT_PARENT })
  type!: string;

  @ApiProperty({ example: 'ada@example.com' })
  @Validate(NormalizableIdentifierValue, { context: REPORT_AT_PARENT })
  value!: string;
}

/** The normalised identifier of a validated entry. */
export function toIdentifier(dto: IdentifierDto): Identifier {
  const result = normalizeIdentifier(dto.type, dto.value);
  if (!result.ok) throw new Error(`unvalidated identifier entry: ${result.message}`);
  return result.identifier;
}
