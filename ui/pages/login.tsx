import { Layout } from './layout.js';
import type { PageCtx } from './types.js';

export interface LoginProps {
  ctx: PageCtx;
  loginToken: string;
  next: string;
  error?: string | undefined;
  passwordSet: boolean;
  /** Plain HTTP to a non-loopback address: the password would cross the network unencrypted. */
  insecure: boolean;
}

export function LoginPage(p: LoginProps) {
  return (
    <Layout ctx={p.ctx}>
      <section class="card login">
        <h1>hiy</h1>
        <p class="muted">Sign in to the dashboard.</p>
        {p.insecure ? (
          <p class="flash warn" role="status">This connection is not encrypted: use https://hiy.&lt;your domain&gt; instead.</p>
        ) : null}
        {p.error ? <p class="flash error" role="alert" id="login-error">{p.error}</p> : null}
        {p.passwordSet ? (
          <form method="post" action="/login">
            <input type="hidden" name="_login" value={p.loginToken} />
            <input type="hidden" name="next" value={p.next} />
            <label for="password">Password</label>
            <input type="password" id="password" name="password" autocomplete="current-password" required autofocus />
            <p><button type="submit">Sign in</button></p>
          </form>
        ) : (
          <div id="no-password">
            <p>No dashboard password is set yet. Set one with the CLI (it asks for the password):</p>
            <pre class="log">hiy password</pre>
            <p class="small muted">Any API token holder may set it; setting it signs every browser out.</p>
          </div>
        )}
      </section>
    </Layout>
  );
}
