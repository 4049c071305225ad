import type { StatusView } from '../../src/apps/status.js';
import { AppHeader } from './app-header.js';
import { Card, Time } from './components.js';
import { CsrfField, Layout } from './layout.js';
import type { PageCtx } from './types.js';

export interface EnvPageProps {
  ctx: PageCtx;
  app: { name: string; url: string; domain: string };
  status: StatusView;
  vars: { key: string; updated_at: string }[];
  /** Values shown in clear (the no-script fallback of Reveal): key → value. */
  revealed: Record<string, string>;
  hasRelease: boolean;
  /** Variables hiy sets from attached add-ons: name → add-on. */
  managed: Record<string, string>;
}

export const MASK = '••••••••';

export function EnvPage(p: EnvPageProps) {
  const base = `/apps/${p.app.name}/env`;
  return (
    <Layout ctx={p.ctx}>
      <AppHeader name={p.app.name} url={p.app.url} domain={p.app.domain} status={p.status} tab="env" />
      <Card title="Env vars">
        <p class="small muted">
          Values are encrypted at rest and masked here. {p.hasRelease
            ? 'Every change restarts the app (zero-downtime) so it runs with the new values.'
            : 'Changes take effect at the first deploy.'}
        </p>
        {p.vars.length === 0 ? <p class="muted" id="env-empty">No env vars yet.</p> : (
          <table class="stack" id="env">
            <thead><tr><th>Name</th><th>Value</th><th>Changed</th><th></th></tr></thead>
            <tbody>
              {p.vars.map((v) => (
                <tr data-key={v.key}>
                  <td data-label="Name" class="mono"><b>{v.key}</b></td>
                  <td data-label="Value">
                    <span class="secret" id={`env-value-${v.key}`}>{p.revealed[v.key] ?? MASK}</span>
                  </td>
                  <td data-label="Changed"><Time iso={v.updated_at} /></td>
                  <td>
                    <div class="row">
                      {p.revealed[v.key] === undefined ? (
                        <form method="post" action={`${base}/reveal`} class="inline" hx-post={`${base}/reveal`} hx-target={`#env-value-${v.key}`} hx-swap="innerHTML">
                          <CsrfField token={p.ctx.csrf} />
                          <input type="hidden" name="key" value={v.key} />
                          <button type="submit" class="secondary" aria-label={`Reveal ${v.key}`}>Reveal</button>
                        </form>
                      ) : null}
                      <form method="post" action={`${base}/unset`} class="inline" data-confirm={`Remove ${v.key}?${p.hasRelease ? ' The app restarts without it.' : ''}`}>
                        <CsrfField token={p.ctx.csrf} />
                        <input type="hidden" name="key" value={v.key} />
                        <button type="submit" class="secondary" aria-label={`Remove ${v.key}`}>Remove</button>
                      </form>
                    </div>
                    <details>
                      <summary>Change</summary>
                      <form method="post" action={`${base}/set`}>
                        <CsrfField token={p.ctx.csrf} />
                        <input type="hidden" name="key" value={v.key} />
                        <label for={`env-new-${v.key}`}>New value of {v.key}</label>
                        <textarea id={`env-new-${v.key}`} name="value" rows={2} autocomplete="off" spellcheck={false} required></textarea>
                        <p><button type="submit">Save {v.key}</button></p>
                      </form>
                    </details>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      {Object.keys(p.managed).length === 0 ? null : (
        <Card title="Set by add-ons">
          <p class="small muted">hiy manages these: each is the URL of an attached add-on, with its password. They change only when the add-on is attached or detached; <code>hiy addons:info &lt;addon&gt; --reveal</code> shows one.</p>
          <table class="stack" id="env-managed">
            <thead><tr><th>Name</th><th>Value</th><th>Add-on</th></tr></thead>
            <tbody>
              {Object.entries(p.managed).map(([key, addon]) => (
                <tr data-key={key}>
                  <td data-label="Name" class="mono"><b>{key}</b></td>
                  <td data-label="Value"><span class="secret">{MASK}</span></td>
                  <td data-label="Add-on">{addon}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
      )}
      <Card title="Add a variable">
        <form method="post" action={`${base}/set`} id="env-add">
          <CsrfField token={p.ctx.csrf} />
          <div class="field-row">
            <div>
              <label for="env-key">Name</label>
              <input type="text" id="env-key" name="key" required pattern="[A-Za-z_][A-Za-z0-9_]*" maxlength={128} autocomplete="off" spellcheck={false} placeholder="DATABASE_URL" />
            </div>
            <div>
              <label for="env-value">Value</label>
              <textarea id="env-value" name="value" rows={1} autocomplete="off" spellcheck={false}></textarea>
            </div>
            <div><button type="submit">{p.hasRelease ? 'Set and restart' : 'Set'}</button></div>
          </div>
        </form>
      </Card>
    </Layout>
  );
}
