/**
 * Turns the byte stream of Docker's follow-logs API (timestamps on) into lines:
 * - multiplexed frames (8-byte header: stream type, 0, 0, 0, uint32 BE length) arrive cut anywhere
 *   by HTTP chunking, so frames are reassembled here;
 * - every frame is one log message, "<RFC 3339 nano timestamp> <bytes>"; the engine splits lines
 *   longer than 16 KiB into several messages without a newline (partial messages), so a line is
 *   assembled per stream until its newline, and its time is that of its first message;
 * - a line longer than MAX_LINE_BYTES keeps its first bytes and a marker with what was cut;
 *   the rest is dropped as it arrives, so a 1 MB line never sits in memory;
 * - invalid UTF-8 becomes U+FFFD, and control characters other than tab and ESC (colours) too,
 *   so binary output cannot break JSON, SSE or a terminal line.
 */
import type { LogLine } from './runtime.js';

export type LogStreamName = LogLine['stream'];
export type ParsedLine = LogLine;

export const MAX_LINE_BYTES = 8 * 1024;
/** A frame larger than this is not a log message: the stream is corrupt (or not multiplexed). */
const MAX_FRAME = 1 << 20;
const EMPTY = Buffer.alloc(0);

const TS_RE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/;

/** RFC 3339 with exactly 9 fraction digits, so timestamps compare as strings; undefined if not one. */
export function normalizeTimestamp(raw: string): string | undefined {
  const m = TS_RE.exec(raw);
  if (m) return `${m[1]}.${(m[2] ?? '').padEnd(9, '0')}Z`;
  const ms = Date.parse(raw);
  if (!/^\d{4}-/.test(raw) || Number.isNaN(ms)) return undefined;
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

/** "2026-01-01T00:00:00.123456789Z" → "1767225600.123456789", the form Docker's `since` takes. */
export function timestampToSince(ts: string): string {
  const m = /^(.*?)(?:\.(\d{9}))Z$/.exec(ts);
  const seconds = Math.floor(Date.parse(`${m?.[1] ?? ts}Z`) / 1000);
  return `${seconds}.${m?.[2] ?? '000000000'}`;
}

const nowTimestamp = (): string => new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');

// Everything below 0x20 but tab (0x09) and ESC (0x1b), and DEL.
const CONTROL_RE = /[\x00-\x08\x0a-\x1a\x1c-\x1f\x7f]/g;

export function sanitizeLine(bytes: Buffer): string {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0d) end--;
  return bytes.subarray(0, end).toString('utf8').replace(CONTROL_RE, '\uFFFD');
}

/** One stream's line being assembled, bounded to MAX_LINE_BYTES. */
class LineAssembler {
  private parts: Buffer[] = [];
  private size = 0;
  private cut = 0;
  private ts: string | undefined;

  constructor(private readonly stream: LogStreamName, private readonly emit: (l: ParsedLine) => void, private readonly max: number) {}

  feed(ts: string, data: Buffer): void {
    let start = 0;
    for (let nl = data.indexOf(0x0a, start); nl >= 0; nl = data.indexOf(0x0a, start)) {
      this.append(ts, data.subarray(start, nl));
      this.flush();
      start = nl + 1;
    }
    if (start < data.length) this.append(ts, data.subarray(start));
  }

  /** Emits what is pending without a newline (the container stopped mid-line). */
  flush(): void {
    if (this.ts === undefined) return;
    let text = sanitizeLine(this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts));
    if (this.cut > 0) text += ` […line cut: ${this.cut} more bytes]`;
    this.emit({ ts: this.ts, stream: this.stream, text });
    this.parts = [];
    this.size = 0;
    this.cut = 0;
    this.ts = undefined;
  }

  private append(ts: string, bytes: Buffer): void {
    this.ts ??= ts;
    if (this.cut > 0) {
      this.cut += bytes.length;
      return;
    }
    let keep = Math.min(bytes.length, this.max - this.size);
    if (keep < bytes.length) {
      // Never split a UTF-8 sequence: back off to the start of the character that would be cut.
      while (keep > 0 && ((bytes[keep] ?? 0) & 0xc0) === 0x80) keep--;
      this.cut = bytes.length - keep;
    }
    if (keep > 0) {
      this.parts.push(bytes.subarray(0, keep));
      this.size += keep;
    }
  }
}

export class LogStreamParser {
  private pending: Buffer = EMPTY;
  private readonly lines: Record<LogStreamName, LineAssembler>;

  /** `raw`: the container has a terminal (tty), so its output is not multiplexed. */
  constructor(private raw: boolean, onLine: (l: ParsedLine) => void, maxLineBytes = MAX_LINE_BYTES) {
    this.lines = { stdout: new LineAssembler('stdout', onLine, maxLineBytes), stderr: new LineAssembler('stderr', onLine, maxLineBytes) };
  }

  push(chunk: Buffer): void {
    if (this.raw) return this.pushRaw(chunk);
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let at = 0;
    while (buf.length - at >= 8) {
      const type = buf[at]!;
      const len = buf.readUInt32BE(at + 4);
      if (type > 3 || len > MAX_FRAME) {
        // Not a frame header: treat this and everything after as raw output rather than lose it.
        this.raw = true;
        this.pending = EMPTY;
        this.pushRaw(buf.subarray(at));
        return;
      }
      if (buf.length - at - 8 < len) break;
      const payload = buf.subarray(at + 8, at + 8 + len);
      at += 8 + len;
      if (type === 0) continue; // stdin is never logged
      this.message(type === 1 ? 'stdout' : 'stderr', payload);
    }
    buf = buf.subarray(at);
    // Copy so a small leftover does not keep a large chunk alive.
    this.pending = buf.length ? Buffer.from(buf) : EMPTY;
  }

  /** The stream ended: lines without a final newline are still lines. */
  end(): void {
    this.pending = EMPTY;
    this.lines.stdout.flush();
    this.lines.stderr.flush();
  }

  private message(stream: LogStreamName, payload: Buffer): void {
    const space = payload.indexOf(0x20);
    const ts = space > 0 && space <= 40 ? normalizeTimestamp(payload.toString('latin1', 0, space)) : undefined;
    if (ts) this.lines[stream].feed(ts, payload.subarray(space + 1));
    else this.lines[stream].feed(nowTimestamp(), payload);
  }

  /** TTY output: "<ts> <text>\n" messages back to back on one stream. */
  private pushRaw(chunk: Buffer): void {
    const buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(0x0a, start); nl >= 0; nl = buf.indexOf(0x0a, start)) {
      this.message('stdout', buf.subarray(start, nl + 1));
      start = nl + 1;
    }
    const rest = buf.subarray(start);
    if (rest.length > MAX_FRAME) {
      this.message('stdout', rest);
      this.pending = EMPTY;
    } else {
      this.pending = rest.length ? Buffer.from(rest) : EMPTY;
    }
  }
}
