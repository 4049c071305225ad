/** A mistake in how hiy was called: exit code 2, and the command's usage is shown. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Anything else that went wrong (the API said no, the server is unreachable): exit code 1. */
export class CliError extends Error {
  override readonly name = 'CliError';
  /** The API's error code when the error came from the API. */
  readonly code: string | undefined;
  readonly status: number | undefined;

  constructor(message: string, opts: { code?: string; status?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = opts.code;
    this.status = opts.status;
  }
}
