import { HttpException } from '@nestjs/common';

/** The shape of every error body Mosaic's HTTP APIs answer. */
export interface ErrorBody {
  error: { status: number; code: string; message: string; details?: unknown };
}

/** An HTTP error with a machine-readable code and a message naming the problem. */
export class ApiError extends HttpException {
  constructor(
    status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super({ error: { status, code, message, ...(details === undefined ? {} : { details }) } } satisfies ErrorBody, status);
  }
}

/** An integer query parameter within bounds: `fallback` when absent, else a 400 naming the parameter. */
export function intQueryParam(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ApiError(400, 'invalid_request', `${name}: must be an integer from ${min} to ${max}`);
  return n;
}

/** 400 `invalid_<what>`, every validation error in the message (`path: message; …`) and in the details. */
export function invalidInput(what: string, errors: readonly { path: string; message: string }[], label: string = what): ApiError {
  return new ApiError(400, `invalid_${what}`, `invalid ${label}: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, errors);
}
