import type { Generated } from 'kysely';

export type AlertKind = 'disk' | 'memory' | 'health' | 'crashloop' | 'certificate' | 'addon' | 'node';

/** One incident: opened once, resolved once; at most one open row per key. */
export interface AlertsTable {
  id: Generated<number>;
  /** `disk`, `memory`, `health:<app>`, `crashloop:<app>`, `addon:<addon>`, `node:<node>`, `tls-renewal`, `tls-expiry-<host>`. */
  key: string;
  kind: AlertKind;
  app: string | null;
  message: string;
  started_at: string;
  resolved_at: string | null;
  resolved_message: string | null;
  /** When the webhook accepted the notification of the start / of the end. */
  notified_at: string | null;
  resolved_notified_at: string | null;
  notify_error: string | null;
}
