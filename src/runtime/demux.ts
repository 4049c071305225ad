import { Transform } from 'node:stream';

/**
 * Docker's multiplexed log format (containers without a TTY): frames of an 8-byte header
 * [stream (0 stdin, 1 stdout, 2 stderr), 0, 0, 0, length as uint32 big-endian] then the payload.
 */
export interface Frame {
  stream: 'stdin' | 'stdout' | 'stderr';
  data: Buffer;
}

const STREAMS = ['stdin', 'stdout', 'stderr'] as const;

/**
 * Splits a complete multiplexed buffer into frames, in order. A buffer that does not start
 * with a valid header (a TTY container's raw output) comes back as one stdout frame; a cut
 * final frame keeps what arrived.
 */
export function demuxFrames(buf: Buffer): Frame[] {
  const frames: Frame[] = [];
  let at = 0;
  while (at + 8 <= buf.length) {
    const type = buf[at];
    const stream = type === undefined ? undefined : STREAMS[type];
    if (!stream || buf[at + 1] !== 0 || buf[at + 2] !== 0 || buf[at + 3] !== 0) break;
    const len = buf.readUInt32BE(at + 4);
    frames.push({ stream, data: buf.subarray(at + 8, Math.min(at + 8 + len, buf.length)) });
    at += 8 + len;
  }
  if (at < buf.length && frames.length === 0) return [{ stream: 'stdout', data: buf }];
  return frames;
}

/** stdout and stderr interleaved as the engine stored them, as UTF-8 text. */
export function demuxToText(buf: Buffer): string {
  return Buffer.concat(demuxFrames(buf).filter((f) => f.stream !== 'stdin').map((f) => f.data)).toString('utf8');
}

/**
 * The same frames arriving cut anywhere (an attached program's output, live): a Transform whose
 * readable side gives { stream, data } objects. stdin frames never come from the engine and are
 * dropped; a header that is not one (a TTY's raw bytes) passes everything on as stdout.
 */
export function frameSplitter(): Transform {
  let held: Buffer = Buffer.alloc(0);
  let raw = false;
  return new Transform({
    readableObjectMode: true,
    transform(chunk: Buffer, _enc, cb) {
      if (raw) return cb(null, { stream: 'stdout', data: chunk });
      held = held.length ? Buffer.concat([held, chunk]) : chunk;
      while (held.length >= 8) {
        const stream = STREAMS[held[0] ?? 9];
        if (!stream || held[1] !== 0 || held[2] !== 0 || held[3] !== 0) {
          raw = true;
          this.push({ stream: 'stdout', data: held });
          held = Buffer.alloc(0);
          break;
        }
        const len = held.readUInt32BE(4);
        if (held.length < 8 + len) break;
        if (stream !== 'stdin' && len > 0) this.push({ stream, data: held.subarray(8, 8 + len) });
        held = held.subarray(8 + len);
      }
      cb();
    },
    flush(cb) {
      // A cut last frame keeps what arrived of it.
      if (held.length > 8) this.push({ stream: STREAMS[held[0] ?? 1] === 'stderr' ? 'stderr' : 'stdout', data: held.subarray(8) });
      cb();
    },
  });
}
