/**
 * Reads the engine's progress of a build (and of pulls and loads): newline-separated JSON messages such as
 *   {"stream":"Step 2/4 : RUN make\n"}  {"status":"Pulling from …","id":"…"}
 *   {"aux":{"ID":"sha256:…"}}            {"error":"…","errorDetail":{"message":"…"}}
 * A failed build still ends the HTTP stream normally (dockerode does not reject): the error
 * message is the only sign, so it is collected here and checked by the caller.
 */
import type { IncomingMessage } from 'node:http';
import { StringDecoder } from 'node:string_decoder';

export interface BuildOutcome {
  /** The built image's id (aux.ID, or "Successfully built <id>"). */
  imageId: string | undefined;
  /** The engine's error message when the build failed. */
  error: string | undefined;
  /** The last "Step N/M : …" line: where a failure happened. */
  lastStep: string | undefined;
}

interface Message {
  stream?: unknown;
  status?: unknown;
  id?: unknown;
  progressDetail?: { current?: unknown };
  aux?: { ID?: unknown } | string;
  error?: unknown;
  errorDetail?: { message?: unknown };
  message?: unknown;
}

const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

export class BuildProgress {
  private raw = '';
  private text = '';
  readonly outcome: BuildOutcome = { imageId: undefined, error: undefined, lastStep: undefined };

  constructor(private readonly onLine: (line: string) => void) {}

  /** Feeds bytes of the HTTP response (UTF-8 text; a message may be cut anywhere). */
  push(chunk: string): void {
    this.raw += chunk;
    let nl: number;
    while ((nl = this.raw.indexOf('\n')) >= 0) {
      const line = this.raw.slice(0, nl).trim();
      this.raw = this.raw.slice(nl + 1);
      if (line) this.message(line);
    }
  }

  /** The end of the response: a last message without newline and a last partial text line. */
  end(): BuildOutcome {
    const rest = this.raw.trim();
    this.raw = '';
    if (rest) this.message(rest);
    this.flushText(true);
    return this.outcome;
  }

  private message(line: string): void {
    let m: Message;
    try {
      m = JSON.parse(line) as Message;
    } catch {
      this.emit(line); // not JSON: pass it on rather than lose it
      return;
    }
    if (typeof m.stream === 'string') {
      this.text += m.stream;
      this.flushText(false);
    }
    if (typeof m.status === 'string' && m.progressDetail?.current === undefined) {
      this.emit(typeof m.id === 'string' && m.id ? `${m.id}: ${m.status}` : m.status);
    }
    if (typeof m.aux === 'object' && m.aux !== null && typeof m.aux.ID === 'string') this.outcome.imageId = m.aux.ID;
    if (m.aux !== undefined) this.aux(typeof m.id === 'string' ? m.id : undefined, m.aux);
    const error = typeof m.error === 'string' ? m.error : typeof m.errorDetail?.message === 'string' ? m.errorDetail.message : undefined;
    if (error !== undefined) this.outcome.error = error.trim() || 'the engine reported an error without a message';
  }

  /** Auxiliary messages (BuildKit's status stream: buildkit-progress.ts); the classic builder has none to read. */
  protected aux(_id: string | undefined, _aux: unknown): void {}

  /** One line of output for the user. */
  protected line(raw: string): void {
    this.emit(raw);
  }

  private flushText(all: boolean): void {
    const parts = this.text.split('\n');
    this.text = all ? '' : (parts.pop() ?? '');
    for (const p of parts) this.emit(p);
  }

  private emit(raw: string): void {
    // The classic builder colours a RUN step's stderr (ESC[91m … ESC[0m); logs are plain text.
    // Progress bars redraw with \r: keep what the last redraw says.
    const line = (raw.replace(ANSI, '').split('\r').filter((s) => s.trim()).pop() ?? '').trimEnd();
    if (!line.trim()) return;
    if (/^Step \d+\/\d+ : /.test(line)) this.outcome.lastStep = line;
    const built = /^Successfully built ([0-9a-f]+)$/.exec(line);
    if (built?.[1] && !this.outcome.imageId) this.outcome.imageId = built[1];
    this.onLine(line);
  }
}

/**
 * Reads an engine progress stream (a build, a pull, a load) to its end through `progress`;
 * destroying it (an abort) rejects, as does the engine closing it early.
 */
export function followProgress(res: IncomingMessage, progress: BuildProgress): Promise<BuildOutcome> {
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder('utf8');
    res.on('data', (chunk: Buffer) => progress.push(decoder.write(chunk)));
    res.once('end', () => {
      progress.push(decoder.end());
      resolve(progress.end());
    });
    res.once('error', reject);
    res.once('close', () => {
      if (!res.complete) reject(new Error('the engine closed the stream early'));
    });
  });
}
