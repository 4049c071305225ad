import { Hono } from 'hono';
import { createToken, listTokens, revokeToken, validateTokenName } from '../../auth/tokens.js';
import type { Services } from '../../services.js';
import type { ApiEnv } from '../auth.js';
import { parseIntParam } from '../body.js';
import { rejectUnknownFields } from '../../fields.js';
import { readJsonObject } from '../errors.js';

/** /api/v1/tokens. A token's value is in the create answer only; the database keeps its sha256. */
export function tokenRoutes(s: Services): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();

  r.get('/', async (c) => c.json({ tokens: await listTokens(s.db) }));

  r.post('/', async (c) => {
    const body = await readJsonObject(c, 4096);
    rejectUnknownFields(body, ['name']);
    const { token, info } = await createToken(s.db, validateTokenName(body.name));
    s.log.info({ tokenId: info.id, name: info.name, by: c.get('token').id }, 'api token created');
    return c.json({ token: info, value: token }, 201);
  });

  // Revoking the token of the request itself is allowed: it is how a leaked token is retired.
  r.delete('/:id', async (c) => {
    const id = parseIntParam('token id', c.req.param('id'), 1, Number.MAX_SAFE_INTEGER);
    const info = await revokeToken(s.db, id);
    s.log.info({ tokenId: id, by: c.get('token').id }, 'api token revoked');
    return c.json({ token: info });
  });

  return r;
}
