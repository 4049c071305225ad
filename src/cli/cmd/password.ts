import type { CommandTable } from '../command.js';
import { CliError, UsageError } from '../errors.js';
import { readLine } from '../io.js';

interface PasswordAnswer {
  dashboard: { url: string; password_set: boolean };
  sessions_ended: number;
}

export const passwordCommands: CommandTable = {
  password: {
    usage: '',
    summary: 'Set the web dashboard\'s password (signs every browser out)',
    details: 'Typed twice, hidden, on a terminal; or piped on stdin (one line):\n'
      + '  hiy password < password.txt\n'
      + 'At least 10 characters. It is stored as an scrypt hash (N=2^17, r=8, p=1).\n'
      + 'Needs an API token (any token may set it).',
    args: [0, 0],
    async run(ctx) {
      const tty = ctx.io.stdin.isTTY === true;
      const password = await readLine(ctx.io, 'New dashboard password: ', { hidden: true });
      if (!password) throw new UsageError('no password given (type it, or pipe it on stdin)');
      if (tty) {
        const again = await readLine(ctx.io, 'Again: ', { hidden: true });
        if (again !== password) throw new CliError('the two passwords differ: nothing changed');
      }
      const res = await ctx.api().request<PasswordAnswer>('PUT', '/dashboard/password', { password });
      ctx.print(res, () => {
        const ended = res.sessions_ended > 0 ? ` ${res.sessions_ended} browser session${res.sessions_ended === 1 ? '' : 's'} signed out.` : '';
        return `Dashboard password set.${ended}\nSign in at ${res.dashboard.url}/ (or ${ctx.api().url}/).\n`;
      });
    },
  },
};
