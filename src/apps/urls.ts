import type { Config } from '../config.js';

/** Where users reach an app: https://<app>.<domain>, with the port when it is not the default. */
export function appUrl(config: Config, app: string): string {
  if (config.tls === 'off') return `http://${app}.${config.domain}${config.httpPort === 80 ? '' : `:${config.httpPort}`}`;
  return `https://${app}.${config.domain}${config.httpsPort === 443 ? '' : `:${config.httpsPort}`}`;
}

export function gitRemoteUrl(config: Config, app: string): string {
  return `${config.publicUrl}/git/${app}.git`;
}
