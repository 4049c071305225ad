import type { Child } from 'hono/jsx';
import { raw } from 'hono/html';
import type { PageCtx } from './types.js';

// htmx may not eval strings, inject its indicator <style> (the CSP forbids inline styles) or keep
// page snapshots (which could hold a revealed secret) in localStorage.
const HTMX_CONFIG = JSON.stringify({ includeIndicatorStyles: false, allowEval: false, historyCacheSize: 0, selfRequestsOnly: true });

export function Layout(props: { ctx: PageCtx; children?: Child }) {
  const { ctx } = props;
  const headers = ctx.csrf ? JSON.stringify({ 'x-csrf-token': ctx.csrf }) : undefined;
  return (
    <>
      {raw('<!doctype html>')}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="htmx-config" content={HTMX_CONFIG} />
          <meta name="referrer" content="same-origin" />
          <title>{ctx.title} · hiy</title>
          <link rel="stylesheet" href={ctx.assets.css} />
          <script src={ctx.assets.htmx} defer></script>
          <script src={ctx.assets.js} defer></script>
          {ctx.extra?.styles.map((href) => <link rel="stylesheet" href={href} />)}
          {ctx.extra?.scripts.map((s) => <script src={s.src} nonce={s.nonce} defer></script>)}
        </head>
        <body hx-headers={headers}>
          {ctx.csrf ? <TopBar ctx={ctx} /> : null}
          <main id="main">
            {ctx.flash ? (
              <p class={`flash ${ctx.flash.kind}`} role={ctx.flash.kind === 'error' ? 'alert' : 'status'}>
                {ctx.flash.text}
                {ctx.flash.href ? <> <a href={ctx.flash.href}>{ctx.flash.linkText ?? 'details'}</a></> : null}
              </p>
            ) : null}
            {props.children}
          </main>
        </body>
      </html>
    </>
  );
}

function TopBar({ ctx }: { ctx: PageCtx }) {
  return (
    <header class="top">
      <a class="brand" href="/">hiy</a>
      <nav aria-label="Main">
        <a href="/" aria-current={ctx.nav === 'apps' ? 'page' : undefined}>Apps</a>
        <a href="/system" aria-current={ctx.nav === 'system' ? 'page' : undefined}>System</a>
      </nav>
      <form method="post" action="/logout">
        <CsrfField token={ctx.csrf} />
        <button type="submit" class="secondary">Log out</button>
      </form>
    </header>
  );
}

export function CsrfField({ token }: { token: string | undefined }) {
  return token ? <input type="hidden" name="_csrf" value={token} /> : null;
}
