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
