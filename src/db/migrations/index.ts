import type { Migration } from 'kysely';
import * as initial from './20261129T0900-initial.js';
import * as webhooks from './20261129T1100-webhooks.js';
import * as proxyHealth from './20261129T1130-proxy-health.js';
import * as logsMetricsAlerts from './20261129T1400-logs-metrics-alerts.js';
import * as buildStrategies from './20261129T1500-build-strategies.js';
import * as dashboard from './20261129T1600-dashboard.js';
import * as webhookReplay from './20261129T1800-webhook-replay.js';
import * as domains from './20261129T1900-domains.js';
import * as liveMarkers from './20261129T2000-live-markers.js';
import * as bootstrapTokens from './20261207T1300-bootstrap-tokens.js';
import * as imageDeploys from './20261207T1600-image-deploys.js';
import * as runsAndCron from './20261208T1000-runs-and-cron.js';
import * as addons from './20261208T1100-addons.js';
import * as appStates from './20261209T1000-app-states.js';
import * as deployTriggers from './20261209T1100-deploy-triggers.js';
import * as appPlacement from './20261210T0900-app-placement.js';

/** Every migration, by timestamped name. Append only. */
export const migrations: Record<string, Migration> = {
  '20261129T0900-initial': initial,
  '20261129T1100-webhooks': webhooks,
  '20261129T1130-proxy-health': proxyHealth,
  '20261129T1400-logs-metrics-alerts': logsMetricsAlerts,
  '20261129T1500-build-strategies': buildStrategies,
  '20261129T1600-dashboard': dashboard,
  '20261129T1800-webhook-replay': webhookReplay,
  '20261129T1900-domains': domains,
  '20261129T2000-live-markers': liveMarkers,
  '20261207T1300-bootstrap-tokens': bootstrapTokens,
  '20261207T1600-image-deploys': imageDeploys,
  '20261208T1000-runs-and-cron': runsAndCron,
  '20261208T1100-addons': addons,
  '20261209T1000-app-states': appStates,
  '20261209T1100-deploy-triggers': deployTriggers,
  '20261210T0900-app-placement': appPlacement,
};
