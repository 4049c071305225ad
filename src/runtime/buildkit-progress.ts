/**
 * The progress of a BuildKit build (`POST /build?version=2`): the engine wraps BuildKit's status
 * stream in its JSON messages,
 *   {"id":"moby.buildkit.trace","aux":"<base64 moby.buildkit.v1.StatusResponse>"}
 *   {"id":"moby.image.id","aux":{"ID":"sha256:…"}}    {"error":"…","errorDetail":{…}}
 * and the status is protobuf: vertexes (steps, with started/completed/cached/error) and their
 * logs (output bytes of RUN steps). This turns it into the same plain lines and outcome as the
 * classic builder's progress (build-progress.ts), so deploy logs read alike.
 */
import protobuf from 'protobufjs';
import { BuildProgress } from './build-progress.js';

// The fields hiy reads of BuildKit's control.proto (field numbers as there; the rest is skipped).
const root = protobuf.Root.fromJSON({
  nested: {
    StatusResponse: { fields: { vertexes: { rule: 'repeated', type: 'Vertex', id: 1 }, logs: { rule: 'repeated', type: 'VertexLog', id: 3 } } },
    Vertex: { fields: { digest: { type: 'string', id: 1 }, name: { type: 'string', id: 3 }, cached: { type: 'bool', id: 4 }, started: { type: 'Timestamp', id: 5 }, completed: { type: 'Timestamp', id: 6 }, error: { type: 'string', id: 7 } } },
    VertexLog: { fields: { vertex: { type: 'string', id: 1 }, stream: { type: 'int64', id: 3 }, msg: { type: 'bytes', id: 4 } } },
    Timestamp: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
  },
});
const StatusResponse = root.lookupType('StatusResponse');

export interface Vertex { digest: string; name?: string; cached?: boolean; started?: unknown; completed?: unknown; error?: string }
export interface VertexLog { vertex: string; msg: Uint8Array }
export interface Status { vertexes: Vertex[]; logs: VertexLog[] }

export function decodeStatus(base64: string): Status {
  const m = StatusResponse.toObject(StatusResponse.decode(Buffer.from(base64, 'base64')), { arrays: true }) as Partial<Status>;
  return { vertexes: m.vertexes ?? [], logs: m.logs ?? [] };
}

/** Test helper and documentation of the format: the bytes the engine sends for `status`. */
export function encodeStatus(status: Status): string {
  return Buffer.from(StatusResponse.encode(StatusResponse.fromObject(status)).finish()).toString('base64');
}

/**
 * Lines for a user: each step's name when it starts (`[deps 3/4] RUN npm ci`), `CACHED <step>`
 * when it came from the cache, its output, `<step> failed: <error>`. BuildKit's own bookkeeping
 * steps (`[internal] …`) are left out unless they fail.
 */
export class BuildkitProgress extends BuildProgress {
  private readonly names = new Map<string, string>();
  private readonly announced = new Set<string>();
  private readonly finished = new Set<string>();
  /** Partial output line per step (a log message may end anywhere). */
  private readonly partial = new Map<string, string>();

  protected override aux(id: string | undefined, aux: unknown): void {
    if (id !== 'moby.buildkit.trace' || typeof aux !== 'string') return;
    let status: Status;
    try {
      status = decodeStatus(aux);
    } catch {
      return; // a status we cannot read costs output lines, never the build
    }
    for (const v of status.vertexes) this.vertex(v);
    for (const l of status.logs) this.log(l);
  }

  private vertex(v: Vertex): void {
    const name = v.name ?? this.names.get(v.digest) ?? '';
    this.names.set(v.digest, name);
    const internal = name.startsWith('[internal]');
    if (v.error) {
      this.flushLog(v.digest);
      this.outcome.lastStep = name;
      this.line(`${name} failed: ${v.error}`);
      return;
    }
    if (internal) return;
    if (v.cached && v.completed && !this.finished.has(v.digest)) {
      this.finished.add(v.digest);
      this.announced.add(v.digest);
      this.outcome.lastStep = name;
      this.line(`CACHED ${name}`);
      return;
    }
    if (v.started && !this.announced.has(v.digest)) {
      this.announced.add(v.digest);
      this.outcome.lastStep = name;
      this.line(name);
    }
    if (v.completed) this.flushLog(v.digest);
  }

  private log(l: VertexLog): void {
    const text = (this.partial.get(l.vertex) ?? '') + Buffer.from(l.msg).toString('utf8');
    const parts = text.split('\n');
    this.partial.set(l.vertex, parts.pop() ?? '');
    for (const p of parts) this.line(p);
  }

  private flushLog(digest: string): void {
    const rest = this.partial.get(digest);
    this.partial.delete(digest);
    if (rest) this.line(rest);
  }

  override end() {
    for (const d of [...this.partial.keys()]) this.flushLog(d);
    return super.end();
  }
}
