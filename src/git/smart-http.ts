import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Git } from 'node-git-server';

/** The smart-HTTP services git clients ask for; anything else is refused before node-git-server sees it. */
export type SmartHttpAction = 'info/refs' | 'git-upload-pack' | 'git-receive-pack' | 'HEAD';

/**
 * git's smart-HTTP protocol over the bare repos under `root`, through node-git-server (which
 * runs git-upload-pack / git-receive-pack). Loaded on the first git request: ~4 MB an idle hiy
 * does not need. It checks nothing itself: the caller authenticates every request first
 * (node-git-server only checks credentials on GET info/refs) and matches the path strictly.
 */
export function createSmartHttp(root: string) {
  let git: Promise<Git> | undefined;
  return async (app: string, action: SmartHttpAction, query: string, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const server = await (git ??= import('node-git-server').then((m) => new m.Git(root, { autoCreate: false })));
    req.url = `/${app}.git/${action}${query ? `?${query}` : ''}`;
    server.handle(req, res);
  };
}
