import { HiyError } from './errors.js';

/**
 * Refuses fields a JSON object body may not have, naming them: a typo must not be silently
 * ignored. Shared by the API's routes and the domains' input parsers (apps/input.ts).
 */
export function rejectUnknownFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
  if (unknown.length === 0) return;
  const shown = unknown.slice(0, 5).map((k) => JSON.stringify(k.length > 40 ? `${k.slice(0, 40)}…` : k)).join(', ');
  const more = unknown.length > 5 ? ` and ${unknown.length - 5} more` : '';
  throw new HiyError('invalid_input', `unknown field${unknown.length > 1 ? 's' : ''} ${shown}${more}; allowed: ${allowed.join(', ')}`);
}
