/** A string field of a parsed form (hono's parseBody), or undefined. Files and repeated fields are not strings. */
export function formString(form: Record<string, unknown>, key: string): string | undefined {
  const v = form[key];
  return typeof v === 'string' ? v : undefined;
}
