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
