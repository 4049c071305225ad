/** What every dashboard page gets besides its own data. */
export interface Flash {
  kind: 'ok' | 'error' | 'warn';
  text: string;
  /** Optional link shown after the text (for example the deploy a change started). */
  href?: string;
  linkText?: string;
}

export interface PageCtx {
  title: string;
  /** The session's CSRF token; absent on pages shown to signed-out visitors. */
  csrf?: string;
  assets: { css: string; js: string; htmx: string };
  nav?: 'apps' | 'system';
  flash?: Flash | undefined;
  /** Scripts and stylesheets of one page only (the console's terminal), after the common ones. */
  extra?: { scripts: { src: string; nonce?: string }[]; styles: string[] };
}
