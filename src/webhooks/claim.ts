/**
 * A signed delivery is acted on once: its id and its body are claimed (deliveries.ts), so a
 * redelivery or a replay under a new id is a duplicate; the claim then records what became of it.
 * Shared by GitHub's deliveries and the registry notifications.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/database.js';
import type { QueuedDeploy } from '../deploy/queue.js';
import { isHiyError } from '../errors.js';
import { claimDelivery, finishDelivery, recordDelivery, type NewDelivery } from './deliveries.js';
import type { Reply } from './delivery-deps.js';

export interface Claim {
  /** Records the outcome and makes the answer. */
  done(status: number, outcome: string, deployId?: number | null): Promise<Reply>;
  /** Queues the deploy and records `deployed #<id>`, or the error it failed with. */
  deploy(queue: () => Promise<QueuedDeploy>): Promise<Reply>;
}

export async function claimOnce(db: Kysely<Database>, delivery: NewDelivery & { bodySha256: string }): Promise<Claim | { duplicate: Reply }> {
  const id = await claimDelivery(db, { ...delivery, outcome: 'received' });
  if (id === undefined) {
    await recordDelivery(db, { ...delivery, bodySha256: null, outcome: 'duplicate' });
    return { duplicate: { status: 200, body: { ok: true, outcome: 'duplicate' } } };
  }
  const done = async (status: number, outcome: string, deployId: number | null = null): Promise<Reply> => {
    await finishDelivery(db, id, outcome, deployId);
    return { status, body: { ok: status < 300, outcome, ...(deployId === null ? {} : { deploy_id: deployId }) } };
  };
  return {
    done,
    async deploy(queue) {
      try {
        const q = await queue();
        return await done(202, `deployed #${q.deployId}`, q.deployId);
      } catch (err) {
        await finishDelivery(db, id, `error: ${isHiyError(err) ? err.message : 'internal error'}`);
        throw err;
      }
    },
  };
}
