import { Card } from './components.js';
import { CsrfField, Layout } from './layout.js';
import type { PageCtx } from './types.js';

export interface NewAppProps {
  ctx: PageCtx;
  /** What was typed, kept after a refusal. */
  values: { name?: string; port?: string; repo_url?: string; branch?: string };
  error?: string;
  /** HIY_DOMAIN: apps answer at <name>.<domain>. */
  domain: string;
}

/** Create an app: name, port, optionally the GitHub repository and branch it deploys from. */
export function NewAppPage({ ctx, values, error, domain }: NewAppProps) {
  return (
    <Layout ctx={ctx}>
      <h1>New app</h1>
      {error ? <p class="flash error" role="alert" id="new-app-error">{error}</p> : null}
      <Card>
        <form method="post" action="/new-app" id="new-app">
          <CsrfField token={ctx.csrf} />
          <label for="app-name">Name</label>
          <input type="text" id="app-name" name="name" required autocomplete="off" spellcheck={false} maxlength={30} pattern="[a-z][a-z0-9\-]{0,29}" value={values.name ?? ''} placeholder="blog" />
          <p class="small muted">Lowercase letters, digits and "-", starting with a letter. The app answers at &lt;name&gt;.{domain}.</p>
          <label for="app-port">Port</label>
          <input type="number" id="app-port" name="port" min={1} max={65535} value={values.port ?? '5000'} />
          <p class="small muted">The port the app listens on inside its container (given to it as <code>PORT</code>; listen on 0.0.0.0).</p>
          <label for="app-repo">GitHub repository (optional)</label>
          <input type="url" id="app-repo" name="repo_url" autocomplete="off" spellcheck={false} value={values.repo_url ?? ''} placeholder="https://github.com/you/blog.git" />
          <label for="app-branch">Branch</label>
          <input type="text" id="app-branch" name="branch" autocomplete="off" spellcheck={false} value={values.branch ?? 'main'} />
          <p class="small muted">Without a repository you deploy with <code>git push</code>; with one, a GitHub webhook deploys every push to the branch.</p>
          <button type="submit">Create app</button>
        </form>
      </Card>
    </Layout>
  );
}

/** On a new app's page until its first release: how to deploy it. */
export function NextSteps({ app, gitRemote, branch, repoUrl }: { app: string; gitRemote: string; branch: string; repoUrl: string | null }) {
  const remoteLine = `git remote add hiy ${gitRemote}`;
  return (
    <Card title="Next: the first deploy" class="next-steps">
      {repoUrl ? (
        <p id="next-webhook">This app deploys from <code>{repoUrl}</code>. Make its webhook secret on the <a href={`/apps/${app}/settings`}>Settings</a> tab,
          then add the payload URL and secret to the repository's webhooks on GitHub: every push to <code>{branch}</code> deploys. Or deploy the branch head now with Deploy above.</p>
      ) : null}
      <p>From the app's folder, push it:</p>
      <label for="next-remote">Add the git remote</label>
      <input type="text" id="next-remote" readonly value={remoteLine} />
      <label for="next-push">Push</label>
      <input type="text" id="next-push" readonly value={`git push hiy ${branch}`} />
      <p class="small muted">git asks for a password: give an API token (<code>hiy tokens:create laptop</code>; any user name).</p>
    </Card>
  );
}
