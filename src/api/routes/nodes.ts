import { Hono } from 'hono';
import { HiyError } from '../../errors.js';
import { rejectUnknownFields } from '../../fields.js';
import { addNode, labelNode, listNodes, parseLabels, removeNode } from '../../nodes/service.js';
import type { Services } from '../../services.js';
import type { ApiEnv } from '../auth.js';
import { readJsonObject } from '../errors.js';

/** A node is named by its hostname or id: nothing else reaches the engine. */
function nodeRef(raw: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(raw)) throw new HiyError('invalid_name', `"${raw.slice(0, 60)}" is not a node name or id`);
  return raw;
}

/** /api/v1/nodes: the boxes of a Swarm (docs/nodes.md). */
export function nodeRoutes(s: Services): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();

  r.get('/', async (c) => c.json(await listNodes(s)));

  r.post('/', async (c) => {
    const body = await readJsonObject(c, 4 * 1024);
    rejectUnknownFields(body, ['advertise_addr', 'init_swarm']);
    if (body.advertise_addr !== undefined && typeof body.advertise_addr !== 'string') throw new HiyError('invalid_input', 'advertise_addr must be an address');
    if (body.init_swarm !== undefined && typeof body.init_swarm !== 'boolean') throw new HiyError('invalid_input', 'init_swarm must be true or false');
    const answer = await addNode(s, { initSwarm: body.init_swarm === true, ...(body.advertise_addr === undefined ? {} : { advertiseAddr: body.advertise_addr as string }) });
    return c.json(answer, 201);
  });

  r.delete('/:node', async (c) => {
    const ref = nodeRef(c.req.param('node'));
    if (c.req.query('confirm') !== ref) throw new HiyError('invalid_input', `removing a node needs ?confirm=${ref}`);
    return c.json(await removeNode(s, ref));
  });

  r.patch('/:node/labels', async (c) => {
    const body = await readJsonObject(c, 16 * 1024);
    rejectUnknownFields(body, ['labels', 'force']);
    if (body.force !== undefined && typeof body.force !== 'boolean') throw new HiyError('invalid_input', 'force must be true or false');
    return c.json({ node: await labelNode(s, nodeRef(c.req.param('node')), parseLabels(body.labels), { force: body.force === true }) });
  });

  return r;
}
