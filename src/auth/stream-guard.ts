/**
 * Long-lived streams (API and dashboard SSE) were authorised once, when they opened. A revoked
 * token, a signed-out session or a changed password must not keep one delivering: each stream
 * asks again every RECHECK_MS and ends when the answer is no. 10 s plus one database read keeps
 * the promise of docs/security.md: a stream ends within 15 s of its credential going away.
 */
export const RECHECK_MS = 10_000;

/**
 * Calls `onGone` once `stillValid()` resolves false; returns a function that stops checking. A
 * check that fails (the database is busy) keeps the stream: the next check decides.
 */
export function guardStream(stillValid: () => Promise<boolean>, onGone: () => void, everyMs = RECHECK_MS): () => void {
  let stopped = false;
  const timer = setInterval(() => {
    void stillValid().then((ok) => {
      if (ok || stopped) return;
      stop();
      onGone();
    }, () => undefined);
  }, everyMs);
  const stop = () => {
    stopped = true;
    clearInterval(timer);
  };
  return stop;
}
