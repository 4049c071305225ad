/**
 * Hides secret values (an app's env var values) in build output and deploy logs.
 *
 * Each value is searched in several forms: as is, URL-encoded (encodeURIComponent and the
 * form-encoding with `+` for spaces), and base64 / base64url — both the whole encoding and the
 * part of it that stays the same wherever the value sits inside a longer encoded text (an
 * `Authorization: Basic` header, a data URL): base64 turns 3 bytes into 4 characters, so a
 * value at each of the 3 byte offsets gives a different but stable run of inner characters.
 *
 * Values shorter than MIN_SECRET_LENGTH characters are NOT redacted: env vars like `PORT=80`,
 * `DEBUG=1` or `WEB_CONCURRENCY=2` would otherwise turn every digit of the output into
 * `[redacted]` while protecting nothing. Derived forms shorter than MIN_FORM_LENGTH are skipped
 * for the same reason.
 */
export const REDACTED = '[redacted]';
export const MIN_SECRET_LENGTH = 4;
const MIN_FORM_LENGTH = 6;

export type Redact = (text: string) => string;

/** Incremental redaction of a text arriving in chunks, where a value may be cut between two chunks. */
export interface ChunkRedactor {
  /** Returns the text that is safe to pass on now; up to (longest form − 1) characters are held back. */
  push(chunk: string): string;
  /** Returns the held-back rest, redacted. */
  end(): string;
}

/** A Redact function (for one complete line or text) that can also make chunk redactors. */
export interface Redactor extends Redact {
  stream(): ChunkRedactor;
}

const b64url = (s: string): string => s.replace(/\+/g, '-').replace(/\//g, '_');

/** The runs of base64 characters that encode `value` whatever precedes or follows it. */
function base64Forms(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const forms = [bytes.toString('base64'), bytes.toString('base64').replace(/=+$/, '')];
  for (let offset = 0; offset < 3; offset++) {
    const enc = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    // Character i covers bits [6i, 6i+6): keep those made only of the value's bits.
    const start = Math.ceil((offset * 8) / 6);
    const end = Math.floor(((offset + bytes.length) * 8) / 6);
    if (end > start) forms.push(enc.slice(start, end));
  }
  return [...forms, ...forms.map(b64url)];
}

/** Every searched form of one value (empty when the value is too short to redact). */
export function secretForms(value: string): string[] {
  if (value.length < MIN_SECRET_LENGTH) return [];
  const forms = new Set([value, encodeURIComponent(value), encodeURIComponent(value).replace(/%20/g, '+')]);
  for (const f of base64Forms(value)) if (f.length >= MIN_FORM_LENGTH) forms.add(f);
  return [...forms];
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Builds a redactor for these values. Longer forms are tried first, so a value that contains
 * another one is hidden whole.
 */
export function createRedactor(values: Iterable<string>): Redactor {
  const forms = [...new Set([...values].flatMap(secretForms))].sort((a, b) => b.length - a.length);
  const longest = forms[0]?.length ?? 0;
  const re = forms.length ? new RegExp(forms.map(escapeRegExp).join('|'), 'g') : undefined;

  const redact = ((text: string): string => (re ? text.replace(re, REDACTED) : text)) as Redactor;

  redact.stream = (): ChunkRedactor => {
    let held = '';
    return {
      push(chunk) {
        const buf = held + chunk;
        if (!re) return buf;
        // Any form that starts before `cut` ends inside `buf`: it can be decided now.
        let cut = Math.max(0, buf.length - (longest - 1));
        let out = '';
        let last = 0;
        re.lastIndex = 0;
        for (let m = re.exec(buf); m; m = re.exec(buf)) {
          if (m.index >= cut) break;
          out += buf.slice(last, m.index) + REDACTED;
          last = m.index + m[0].length;
          // A match reaching past the cut moves the cut behind it.
          if (last > cut) cut = last;
        }
        out += buf.slice(last, cut);
        held = buf.slice(cut);
        return out;
      },
      end() {
        const rest = held;
        held = '';
        return redact(rest);
      },
    };
  };
  return redact;
}
