import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../../harness/paths.js';
import { startHiy, type HiyProcess } from '../../harness/server.js';
import { commandTable } from '../../src/cli/command-table.js';
import { opsCommands } from '../../src/cli/cmd/ops.js';
import { serverCommands } from '../../src/cli/cmd/server.js';

// The docs say what the code does: every route docs/api.md documents answers on a real server
// (with something other than "no route"), and every command line in the README's CLI section
// names a command hiy has, with flags that command takes.

const root = repoRoot();

/** `### \`GET /api/v1/apps/:app/env/:KEY[?reveal=true]\`` → ['GET', '/api/v1/apps/:app/env/:KEY']. */
function documentedRoutes(): [string, string][] {
  const md = readFileSync(join(root, 'docs', 'api.md'), 'utf8');
  const out: [string, string][] = [];
  for (const m of md.matchAll(/^### (.+)$/gm)) {
    for (const r of m[1]!.matchAll(/`(GET|POST|PUT|PATCH|DELETE) (\/[^`\s[]+)/g)) out.push([r[1]!, r[2]!]);
  }
  return out;
}

describe('docs match the code', { timeout: 120_000 }, () => {
  let h: HiyProcess;
  before(async () => { h = await startHiy(); });
  after(async () => { await h?.stop(); });

  it('every route in docs/api.md exists', async () => {
    const routes = documentedRoutes();
    assert.ok(routes.length > 40, `found ${routes.length} routes`);
    const missing: string[] = [];
    for (const [method, path] of routes) {
      if (path.startsWith('/hooks/')) continue; // its own handler; tests/webhooks covers it
      const url = path.replace(':app', 'docs-nope').replace(':id', '999999').replace(':KEY', 'NOPE').replace(':host', 'nope.example.com');
      const res = await fetch(`${h.url}${url}`, {
        method,
        headers: { authorization: `Bearer ${h.token}`, 'content-type': 'application/json' },
        body: method === 'GET' || method === 'DELETE' ? undefined : '{}',
        signal: AbortSignal.timeout(20_000),
      });
      const text = await res.text();
      if (/no route for/.test(text)) missing.push(`${method} ${path}`);
    }
    assert.deepEqual(missing, [], 'documented but not routed');
  });

  it('every command in the README\'s CLI section exists and takes the flags shown', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('\n## CLI'), readme.indexOf('\n## Dashboard'));
    const table = commandTable({ ...serverCommands, ...opsCommands });
    const common = new Set(['--json', '--help', '-h']);
    const problems: string[] = [];
    let n = 0;
    const code = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((b) => b[1]!).join('\n');
    for (const line of code.split('\n')) {
      const m = /^(?:sudo )?hiy ([a-z][a-z:-]*)(.*?)(?:#|$)/.exec(line.trim());
      if (!m) continue;
      n++;
      const cmd = table[m[1]!];
      if (!cmd) { problems.push(`${m[1]}: no such command`); continue; }
      const flags = new Set([...Object.entries(cmd.flags ?? {}).flatMap(([f, s]) => [`--${f}`, ...(s.short ? [`-${s.short}`] : []), ...(s.alsoShort ? [`-${s.alsoShort}`] : [])]), ...common]);
      if (cmd.usage.startsWith('<app>')) { flags.add('-a'); flags.add('--app'); }
      for (const f of m[2]!.matchAll(/(?<=[\s[|])(--?[a-z][a-z-]*)/g)) if (!flags.has(f[1]!)) problems.push(`hiy ${m[1]}: no flag ${f[1]}`);
    }
    assert.ok(n >= 25, `found ${n} command lines`);
    assert.deepEqual(problems, []);
  });
});
