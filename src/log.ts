import pino, { type Logger } from 'pino';

export type { Logger };

/** JSON logs on stdout (journald keeps them); one child logger per deploy adds {app, deploy, sha}. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { svc: 'hiy' },
      // Defence in depth: these keys never reach a log line even if a caller passes them.
      redact: { paths: ['token', 'password', 'authorization', 'value', 'values', 'secret', '*.token', '*.password', '*.authorization', '*.value', '*.secret', 'req.headers.authorization'], censor: '[redacted]' },
    },
    destination ?? process.stdout,
  );
}
