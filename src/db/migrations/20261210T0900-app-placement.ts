import type { Kysely } from 'kysely';

// Landed migrations never change; add a new timestamped file instead.
export async function up(db: Kysely<unknown>): Promise<void> {
  // hiy update --node-label: the Swarm node labels an app's processes must run on, a JSON object
  // (null: any node). Stored on one engine too, where it has no effect (docs/nodes.md).
  await db.schema.alterTable('apps').addColumn('node_labels', 'text').execute();
  // hiy update --spread / --no-spread: new processes start on the node with the fewest of the
  // app's tasks (1, the default: what the Swarm runtime did before this setting existed).
  await db.schema.alterTable('apps').addColumn('spread', 'integer', (c) => c.notNull().defaultTo(1)).execute();
}
