import type { NodeView, NodesAnswer } from '../../contract.js';
import { seg } from '../client.js';
import { arg, stringFlag, type CommandTable } from '../command.js';
import { confirmByName } from '../confirm.js';
import { UsageError } from '../errors.js';
import { formatTable } from '../format.js';

const gb = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GB`;
/** In use now: `37%` of the CPUs, `1.2 GB` (of MEMORY); `-` before the first sample. */
const cpuUse = (n: NodeView) => (n.usage ? `${Math.round(n.usage.cpu_pct)}%` : '-');
const memUse = (n: NodeView) => (n.usage ? `${gb(n.usage.memory_used_bytes)} (${Math.round(n.usage.memory_pct)}%)` : '-');

export const nodeCommands: CommandTable = {
  nodes: {
    usage: '',
    summary: 'List the boxes apps run on (name, address, state, role, CPU/memory and their use now, apps placed)',
    args: [0, 0],
    async run(ctx) {
      const res = await ctx.api().request<NodesAnswer>('GET', '/nodes');
      ctx.print(res, () => formatTable(['NAME', 'ADDRESS', 'STATE', 'AVAILABILITY', 'ROLE', 'CPUS', 'CPU USE', 'MEMORY', 'MEMORY USE', 'APPS'], res.nodes.map((n) => [
        n.name, n.address || '-', n.state, n.availability, n.leader ? `${n.role} (leader)` : n.role, n.cpus, cpuUse(n), gb(n.memory_bytes), memUse(n), n.apps.join(',') || '-',
      ])) + (res.swarm === 'active' ? '' : 'One box, no Swarm. hiy nodes:add starts one and prints the command for the next box.\n'));
    },
  },

  'nodes:add': {
    usage: '[--advertise-addr ADDR]',
    summary: 'Make this box a Swarm manager (first time) and print the command that joins a new box',
    details: 'The first call turns this box\'s engine into a Swarm manager (Swarm refuses an engine with\n'
      + 'live-restore on: the error says how to turn it off). Every call prints one command to run as\n'
      + 'root on the new box: it installs Docker from Debian and joins. The command holds the join\n'
      + 'token: whoever has it can add a box. See docs/nodes.md.\n\n'
      + 'Examples:\n  hiy nodes:add\n  hiy nodes:add --advertise-addr 192.168.1.10   # the address the other boxes reach this one at',
    flags: { 'advertise-addr': { type: 'string', value: 'ADDR', description: 'this box\'s address as the other nodes reach it (when it has several)' } },
    args: [0, 0],
    async run(ctx) {
      const advertise = stringFlag(ctx, 'advertise-addr');
      const res = await ctx.api().request<{ swarm_started: boolean; command: string; manager_address: string }>('POST', '/nodes', { init_swarm: true, ...(advertise ? { advertise_addr: advertise } : {}) });
      ctx.print(res, () => `${res.swarm_started ? `This box is now a Swarm manager at ${res.manager_address}.\n` : ''}`
        + `Run this as root on the new box (Debian or Raspberry Pi OS); it installs Docker and joins:\n\n  ${res.command}\n\n`
        + 'Then hiy nodes shows it. The command holds a join token: keep it to yourself.\n');
    },
  },

  'nodes:remove': {
    usage: '<node> [--confirm <node>]',
    summary: 'Drain a node (its apps move to the other nodes), then remove it',
    details: 'On a terminal it asks you to type the node name; scripts pass --confirm <node>. Afterwards,\n'
      + 'run `docker swarm leave` on that box (or reinstall it).',
    flags: { confirm: { type: 'string', value: 'NODE', description: 'the node name again, to confirm without a prompt' } },
    args: [1, 1],
    async run(ctx) {
      const node = arg(ctx, 0);
      await confirmByName(ctx, node, { kind: 'node name', warning: `This drains ${node} (its apps move to the other nodes) and removes it from the Swarm.` });
      const res = await ctx.api().request<{ removed: string }>('DELETE', `/nodes/${seg(node)}?confirm=${seg(node)}`);
      ctx.print(res, () => `Drained and removed ${res.removed}. On that box, run: docker swarm leave\n`);
    },
  },

  'nodes:label': {
    usage: '<node> key=value… (key= removes)',
    summary: 'Set or remove a node\'s labels (apps can be placed by label)',
    details: 'Taking a label (key= or a new value) from the last ready node that an app\'s placement needs is refused,\n'
      + 'naming the apps; --force does it anyway (their processes stop until a node carries the labels again).\n\n'
      + 'Examples:\n  hiy nodes:label pi5 role=fast disk=ssd\n  hiy nodes:label pi5 role=',
    args: [2, 50],
    flags: { force: { type: 'boolean', description: 'change the labels even when an app\'s placement then matches no ready node' } },
    async run(ctx) {
      const node = arg(ctx, 0);
      const labels: Record<string, string | null> = {};
      for (const pair of ctx.args.slice(1)) {
        const i = pair.indexOf('=');
        if (i <= 0) throw new UsageError(`"${pair}" is not key=value`);
        labels[pair.slice(0, i)] = pair.slice(i + 1) === '' ? null : pair.slice(i + 1);
      }
      const res = await ctx.api().request<{ node: NodeView }>('PATCH', `/nodes/${seg(node)}/labels`, { labels, ...(ctx.flags.force === true ? { force: true } : {}) });
      const shown = Object.entries(res.node.labels).map(([k, v]) => `${k}=${v}`).join(' ');
      ctx.print(res, () => `${res.node.name}: ${shown || '(no labels)'}\n`);
    },
  },
};
