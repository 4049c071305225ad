/** The one error class of hiy: a machine-readable code, an HTTP status, a message for humans. */
export type ErrorCode =
  | 'bad_request'
  | 'invalid_name'
  | 'invalid_input'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'build_failed'
  | 'deploy_failed'
  | 'unavailable'
  | 'config'
  | 'internal';

const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  invalid_name: 400,
  invalid_input: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  build_failed: 422,
  deploy_failed: 422,
  unavailable: 503,
  config: 500,
  internal: 500,
};

export class HiyError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HiyError';
    this.code = code;
    this.status = options?.status ?? STATUS[code];
  }
}

export function isHiyError(err: unknown): err is HiyError {
  return err instanceof HiyError;
}

export const notFound = (what: string): HiyError => new HiyError('not_found', `${what} not found`);
export const invalid = (message: string): HiyError => new HiyError('invalid_input', message);
