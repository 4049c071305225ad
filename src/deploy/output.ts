import type { Kysely } from 'kysely';
import type { Database } from '../db/database.js';
import { plainText, terminalSafeLine } from '../terminal-safe.js';

export type Redact = (text: string) => string;
type Listener = (line: string) => void;

/** Bound on what is stored per deploy; the tail is kept, since the end says why a deploy failed. */
const MAX_STORED_LOG = 512 * 1024;
const FLUSH_MS = 1000;

/**
 * What the pusher sees during a deploy: `----->` lines and build output. Every line is made
 * terminal-safe and redacted before it reaches a listener or the database; listeners come and go (a client may disconnect).
 */
export class DeployOutput {
  private readonly listeners = new Set<Listener>();
  private log = '';
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private redact: Redact = (t) => t;

  constructor(private readonly db: Kysely<Database>, readonly deployId: number) {}

  setRedactor(redact: Redact): void {
    this.redact = redact;
  }

  /** Listens to new lines; `replay` first hands over what was already said. */
  subscribe(listener: Listener, replay = true): () => void {
    if (replay) for (const l of this.log.split('\n').slice(0, -1)) listener(l);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A headline: `-----> text`. */
  step(text: string): void {
    this.line(`-----> ${text}`);
  }

  /** Indented detail under a headline, as Heroku prints it. */
  detail(text: string): void {
    this.line(`       ${text}`);
  }

  line(text: string): void {
    for (const raw of text.split(/\r?\n/)) {
      const safe = this.safe(raw);
      this.log += `${safe}\n`;
      for (const l of this.listeners) {
        try {
          l(safe);
        } catch {
          this.listeners.delete(l);
        }
      }
    }
    if (this.log.length > MAX_STORED_LOG * 1.25) this.log = `[… earlier output cut …]\n${this.log.slice(-MAX_STORED_LOG)}`;
    this.dirty = true;
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /**
   * A line as the pusher's terminal and the stored log get it: escape sequences other than colours
   * dropped (terminal-safe.ts), then redacted. A secret split by colour codes would show whole in a
   * terminal but slip past the redactor; such a line loses its colours and is redacted as plain text.
   */
  private safe(raw: string): string {
    const line = terminalSafeLine(raw);
    const plain = plainText(line);
    const redactedPlain = this.redact(plain);
    return redactedPlain !== plain || plain === line ? redactedPlain : this.redact(line);
  }

  /** Redacts a message that did not go through line() (an error text stored separately). */
  redactText(text: string): string {
    return this.redact(text);
  }

  text(): string {
    return this.log;
  }

  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.dirty) return;
    this.dirty = false;
    await this.db.updateTable('deploys').set({ log: this.log }).where('id', '=', this.deployId).execute();
  }
}
