import { Hono } from 'hono';
import type { Services } from '../../services.js';
import type { ApiEnv } from '../auth.js';

export function deployRoutes(_s: Services): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();
  return r;
}
