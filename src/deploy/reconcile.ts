import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Services } from '../services.js';
import { failInterrupted } from './records.js';

/**
 * After a start (or a crash): whatever deploy was in flight is marked failed, leftover source
 * archives go. Containers and routes are reconciled in reconcileContainers (needs Docker).
 */
export async function recoverAtStart(s: Services): Promise<void> {
  const n = await failInterrupted(s.db);
  if (n > 0) s.log.warn({ count: n }, 'marked interrupted deploys as failed');
  await rm(join(s.config.dataDir, 'sources'), { recursive: true, force: true });
}
