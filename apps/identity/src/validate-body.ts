import { plainToInstance, type ClassConstructor } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import type { RuleError } from '@mosaic/identity-domain';
import { ApiError } from '@mosaic/shared-service';

/** class-validator `context` of a constraint whose error names the object holding the field (`identifiers[1]`), not the field. */
export const REPORT_AT_PARENT = { reportAt: 'parent' } as const;

/** 400 `invalid_request`: `<what>: <path>: <message>; …`, the errors in the details. */
export function badRequest(errors: RuleError[], what: string): ApiError {
  return new ApiError(400, 'invalid_request', `${what}: ${errors.map((e) => `${e.path || '(body)'}: ${e.message}`).join('; ')}`, errors);
}

/** The body as a JSON object, else a 400 with `notObject` as the message. */
export function requireJsonObject(body: unknown, what: string, notObject: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest([{ path: '', message: notObject }], what);
  return body as Record<string, unknown>;
}

/**
 * Validates a JSON body with its class-validator DTO: unknown top-level fields and every
 * constraint's message become `{path, message}` errors (`identifiers[0].type`), answered as one
 * 400 (`badRequest`). Extra keys inside nested objects are dropped, not reported (they never were).
 */
export function validateBody<T extends object>(cls: ClassConstructor<T>, body: unknown, what: string, notObject: string): T {
  const dto = plainToInstance(cls, requireJsonObject(body, what, notObject));
  const errors = toRuleErrors(validateSync(dto, { whitelist: true, forbidNonWhitelisted: true, stopAtFirstError: true }));
  if (errors.length > 0) throw badRequest(errors, what);
  return dto;
}

function toRuleErrors(errors: readonly ValidationError[], parent = ''): RuleError[] {
  const out: RuleError[] = [];
  for (const e of errors) {
    const path = parent === '' ? e.property : /^\d+$/.test(e.property) ? `${parent}[${e.property}]` : `${parent}.${e.property}`;
    for (const [constraint, message] of Object.entries(e.constraints ?? {})) {
      if (constraint === 'whitelistValidation') {
        if (parent === '') out.push({ path, message: 'unknown field' });
        continue;
      }
      const context = e.contexts?.[constraint] as { reportAt?: string } | undefined;
      out.push({ path: context?.reportAt === REPORT_AT_PARENT.reportAt ? parent : path, message });
    }
    out.push(...toRuleErrors(e.children ?? [], path));
  }
  return out;
}
