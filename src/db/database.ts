import type { AddonAttachmentsTable, AddonMetricsTable, AddonsTable } from '../addons/table.js';
import type { AppsTable, DomainsTable } from '../apps/table.js';
import type { ApiTokensTable } from '../auth/table.js';
import type { DashboardPasswordTable, DashboardSessionsTable } from '../auth/dashboard-table.js';
import type { DeploysTable, FormationTable, ReleasesTable } from '../deploy/table.js';
import type { EnvVarsTable } from '../env/table.js';
import type { AlertsTable } from '../alerts/table.js';
import type { AppLogsTable, LogCursorsTable } from '../logs/table.js';
import type { AppMetricsTable, HostMetricsTable } from '../metrics/table.js';
import type { AppGitSecretsTable, WebhookDeliveriesTable } from '../webhooks/table.js';
import type { RegistryLoginsTable } from '../registry/table.js';
import type { CronStateTable, RunsTable } from '../runs/table.js';

/** The whole schema: each domain owns its table types, composed here. */
export interface Database {
  apps: AppsTable;
  domains: DomainsTable;
  deploys: DeploysTable;
  releases: ReleasesTable;
  formation: FormationTable;
  env_vars: EnvVarsTable;
  api_tokens: ApiTokensTable;
  app_git_secrets: AppGitSecretsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  dashboard_password: DashboardPasswordTable;
  dashboard_sessions: DashboardSessionsTable;
  app_logs: AppLogsTable;
  log_cursors: LogCursorsTable;
  app_metrics: AppMetricsTable;
  host_metrics: HostMetricsTable;
  alerts: AlertsTable;
  registry_logins: RegistryLoginsTable;
  runs: RunsTable;
  cron_state: CronStateTable;
  addons: AddonsTable;
  addon_attachments: AddonAttachmentsTable;
  addon_metrics: AddonMetricsTable;
}

export const nowIso = (): string => new Date().toISOString();
