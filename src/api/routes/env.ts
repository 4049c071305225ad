import { Hono } from 'hono';
import { validateEnvKey } from '../../apps/names.js';
import type { RestartAnswer } from '../../contract.js';
import { restartAnswer, restartToApply } from '../../deploy/restart-to-apply.js';
import { appEnv } from '../../addons/env.js';
import { managedVars } from '../../addons/managed.js';
import { listEnvKeys, setEnv, unsetEnv } from '../../env/repo.js';
import { HiyError, notFound } from '../../errors.js';
import type { Services } from '../../services.js';
import type { DeployTrigger } from '../../contract.js';
import type { ApiEnv } from '../auth.js';
import { clientTrigger, optionalBoolean, pathApp, queryFlag } from '../body.js';
import { rejectUnknownFields } from '../../fields.js';
import { readJsonObject } from '../errors.js';

const MASK = '****';
// 200 values of 32 KiB each, plus JSON overhead.
const ENV_BODY_MAX = 8 * 1024 * 1024;

/**
 * /api/v1/apps/:name/env. Values leave the server only with ?reveal=true; they never go into log
 * lines or error messages (errors name the key only). The variables of attached add-ons are
 * listed too, under `managed` (variable → add-on); they cannot be set or unset here.
 */
export function envRoutes(s: Services): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();

  r.get('/:name/env', async (c) => {
    const app = (await pathApp(s.db, c)).name;
    const reveal = queryFlag(c, 'reveal') ?? false;
    const env: Record<string, string> = {};
    const managed = await managedVars(s.db, app);
    if (reveal) Object.assign(env, (await appEnv(s.db, s.secrets, app)).env);
    else for (const key of [...(await listEnvKeys(s.db, app)).map((r) => r.key), ...Object.keys(managed)].sort()) env[key] = MASK;
    return c.json({ app, revealed: reveal, env, managed });
  });

  r.get('/:name/env/:key', async (c) => {
    const app = (await pathApp(s.db, c)).name;
    const key = validateEnvKey(c.req.param('key'));
    const reveal = queryFlag(c, 'reveal') ?? false;
    const value = (await appEnv(s.db, s.secrets, app)).env[key];
    if (value === undefined) throw notFound(`env var ${key} of app "${app}"`);
    const addon = (await managedVars(s.db, app))[key];
    return c.json({ app, key, revealed: reveal, value: reveal ? value : MASK, ...(addon ? { managed_by: addon } : {}) });
  });

  r.patch('/:name/env', async (c) => {
    const app = (await pathApp(s.db, c)).name;
    const body = await readJsonObject(c, ENV_BODY_MAX);
    rejectUnknownFields(body, ['vars', 'restart']);
    const restart = optionalBoolean(body, 'restart');
    if (typeof body.vars !== 'object' || body.vars === null || Array.isArray(body.vars)) {
      throw new HiyError('invalid_input', 'vars must be an object of {"KEY": "value"}');
    }
    const set = await setEnv(s.db, s.secrets, app, body.vars as Record<string, unknown>);
    s.log.info({ app, keys: set }, 'env vars set');
    return c.json({ app, set, ...restartAnswer(await restartToApply(s, app, 'env', restart, clientTrigger(c))) });
  });

  // DELETE …/env?keys=A,B[&restart=false]: a batch with no body (DELETE never needs one). The
  // older form with {"keys", "restart"} in the body stays for clients made before.
  r.delete('/:name/env', async (c) => {
    const app = (await pathApp(s.db, c)).name;
    const query = c.req.query('keys');
    const body = await readJsonObject(c);
    let keys: unknown;
    let restart: boolean | undefined;
    if (query !== undefined) {
      if (Object.keys(body).length > 0) throw new HiyError('invalid_input', 'give the keys either as ?keys=A,B or in the body, not both');
      keys = query.split(',').filter((k) => k !== '');
      restart = queryFlag(c, 'restart');
    } else {
      rejectUnknownFields(body, ['keys', 'restart']);
      keys = body.keys;
      restart = optionalBoolean(body, 'restart');
    }
    if (!Array.isArray(keys)) throw new HiyError('invalid_input', 'keys must be an array of env var names (or give them as ?keys=A,B)');
    if (keys.length === 0) throw new HiyError('invalid_input', 'keys must name at least one env var: ?keys=A,B (or {"keys": ["A", "B"]})');
    if (keys.length > 200) throw new HiyError('invalid_input', 'at most 200 keys at once');
    const unset = await unsetEnv(s.db, app, keys.map(validateEnvKey));
    return c.json({ app, unset, ...(await afterUnset(s, app, unset, restart, clientTrigger(c))) });
  });

  r.delete('/:name/env/:key', async (c) => {
    const app = (await pathApp(s.db, c)).name;
    const key = validateEnvKey(c.req.param('key'));
    const restart = queryFlag(c, 'restart');
    const unset = await unsetEnv(s.db, app, [key]);
    if (unset.length === 0) throw notFound(`env var ${key} of app "${app}"`);
    return c.json({ app, unset, ...(await afterUnset(s, app, unset, restart, clientTrigger(c))) });
  });

  return r;
}

async function afterUnset(s: Services, app: string, unset: string[], restart: boolean | undefined, trigger: DeployTrigger): Promise<RestartAnswer> {
  if (unset.length === 0) return { restarted: false };
  s.log.info({ app, keys: unset }, 'env vars unset');
  return restartAnswer(await restartToApply(s, app, 'env', restart, trigger));
}
