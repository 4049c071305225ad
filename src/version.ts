/**
 * What `hiy version` and `GET /api/v1/health` report. HIY_VERSION follows package.json (a test
 * holds them together); API_VERSION changes only when an answer of /api/v1 changes incompatibly,
 * and the CLI refuses a server whose API_VERSION differs from its own (src/cli/client.ts).
 */
export const HIY_VERSION = '0.1.0';
export const API_VERSION = 1;
/** The header every /api/v1 answer carries API_VERSION in. */
export const API_VERSION_HEADER = 'x-hiy-api-version';
