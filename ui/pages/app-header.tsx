import type { StatusView } from '../../src/apps/status.js';
import { Badge } from './components.js';

export type AppTab = 'overview' | 'env' | 'logs' | 'console' | 'cron' | 'settings' | 'deploy';

/** Name, status, link and the tabs every app page shares. */
export function AppHeader({ name, url, domain, status, tab }: { name: string; url: string; domain: string; status: StatusView; tab: AppTab }) {
  const t = (id: AppTab, href: string, label: string) => (
    <a href={href} aria-current={tab === id ? 'page' : undefined}>{label}</a>
  );
  return (
    <>
      <div class="row spread">
        <div>
          <h1>{name} <Badge status={status.status} label={status.label} id="app-status" /></h1>
          {status.note ? <p class="small muted">{status.note}</p> : null}
        </div>
        <a href={url} rel="noopener noreferrer" target="_blank" class="small">{domain} ↗</a>
      </div>
      <nav class="tabs" aria-label={`Sections of ${name}`}>
        {t('overview', `/apps/${name}`, 'Overview')}
        {t('env', `/apps/${name}/env`, 'Env vars')}
        {t('logs', `/apps/${name}/logs`, 'Logs')}
        {t('console', `/apps/${name}/console`, 'Console')}
        {t('cron', `/apps/${name}/cron`, 'Cron')}
        {t('settings', `/apps/${name}/settings`, 'Settings')}
      </nav>
    </>
  );
}
