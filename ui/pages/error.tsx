import { Layout } from './layout.js';
import type { PageCtx } from './types.js';

export function ErrorPage({ ctx, status, message }: { ctx: PageCtx; status: number; message: string }) {
  const heading = status === 404 ? 'Not found' : status === 403 ? 'Refused' : status === 429 ? 'Slow down' : status >= 500 ? 'Something went wrong' : 'That did not work';
  return (
    <Layout ctx={ctx}>
      <section class="card" id="error">
        <h1>{heading}</h1>
        <p>{message}</p>
        <p class="muted small">HTTP {status}</p>
        <p><a href="/">Back to the apps</a></p>
      </section>
    </Layout>
  );
}
