import type { AppsTable } from '../apps/table.js';
import type { ApiTokensTable } from '../auth/table.js';
import type { DeploysTable, FormationTable, ReleasesTable } from '../deploy/table.js';
import type { EnvVarsTable } from '../env/table.js';
import type { AppGitSecretsTable, WebhookDeliveriesTable } from '../webhooks/table.js';

/** The whole schema: each domain owns its table types, composed here. */
export interface Database {
  apps: AppsTable;
  deploys: DeploysTable;
  releases: ReleasesTable;
  formation: FormationTable;
  env_vars: EnvVarsTable;
  api_tokens: ApiTokensTable;
  app_git_secrets: AppGitSecretsTable;
  webhook_deliveries: WebhookDeliveriesTable;
}

export const nowIso = (): string => new Date().toISOString();
