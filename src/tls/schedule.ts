/** When to renew, when to warn, how long to wait after a failure. Pure: tested exactly. */

export const DAY_MS = 86_400_000;
/** A certificate closer than this to its end is an incident (issue #21: 14 days). */
export const EXPIRY_WARNING_MS = 14 * DAY_MS;
export const RETRY_BASE_MS = 60_000;
export const RETRY_MAX_MS = 6 * 3_600_000;

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

/** Two thirds into the lifetime (Let's Encrypt's 90 days: 30 days before the end). */
export function renewAt(v: Validity): Date {
  const from = v.notBefore.getTime();
  return new Date(from + Math.round((v.notAfter.getTime() - from) * 2 / 3));
}

/**
 * The warning starts 14 days before the end, or one sixth of the lifetime before it when the
 * certificate lives less than 84 days: a 6-day certificate would otherwise warn from the first
 * minute. Either way it lies after renewAt, so it only fires when renewal has not happened.
 */
export function warnAt(v: Validity): Date {
  const life = v.notAfter.getTime() - v.notBefore.getTime();
  return new Date(v.notAfter.getTime() - Math.min(EXPIRY_WARNING_MS, Math.round(life / 6)));
}

/** After the n-th failure in a row (n >= 1): base, 2×base, 4×base … capped at max. */
export function retryDelayMs(failures: number, baseMs = RETRY_BASE_MS, maxMs = RETRY_MAX_MS): number {
  const n = Math.max(1, Math.min(failures, 30));
  return Math.min(maxMs, baseMs * 2 ** (n - 1));
}

/** Whether the certificate's names include every wanted name (exact names; a wildcard covers one label). */
export function covers(certNames: readonly string[], wanted: readonly string[]): boolean {
  const have = new Set(certNames.map((n) => n.toLowerCase()));
  return wanted.every((w) => have.has(w.toLowerCase()));
}


/** Longest a setTimeout may wait (2^31-1 ms, ~24.8 days); the manager wakes at least daily anyway. */
export const MAX_SLEEP_MS = DAY_MS;
