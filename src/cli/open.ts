import { spawn } from 'node:child_process';

/**
 * Hands a URL to the desktop's opener (xdg-open, open, explorer), detached; where there is none (a
 * server over SSH) the printed URL is all there is, which is no error.
 */
export function openInBrowser(url: string): Promise<void> {
  const [cmd, args] = process.platform === 'darwin' ? ['open', [url]]
    : process.platform === 'win32' ? ['explorer.exe', [url]]
      : ['xdg-open', [url]];
  return new Promise((resolve) => {
    const p = spawn(cmd, args as string[], { stdio: 'ignore', detached: true });
    p.once('error', () => resolve());
    p.once('spawn', () => { p.unref(); resolve(); });
  });
}
