/**
 * Text from apps and builds on its way to a terminal (the pusher's `git push`, `hiy logs`,
 * `hiy deploys:log`). An app or a build step can print anything, and a terminal obeys escape
 * sequences: OSC 52 writes the operator's clipboard, OSC 0/2 retitle the window, OSC 8 makes
 * links whose target is not what is shown, CSI sequences move the cursor and erase what was
 * printed before (hiding a line), and some terminals answer queries into their own input.
 *
 * Kept: printable text, tab, and SGR colour/weight sequences (`ESC [ … m`), which only style.
 * Dropped: every other escape sequence (string sequences with their payload), C0 and C1
 * control characters and DEL. A carriage return ends a progress redraw: what follows the last
 * one is kept (as the terminal would have shown it).
 */

// CSI (7-bit or C1), string sequences up to BEL/ST (or the end), other two-byte escapes, one control.
const SEQUENCE = /(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?|(?:\x1b[\]P_^X]|[\x90\x98\x9d-\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?|\x1b[ -/]*[0-~]?|[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;
const SGR = /^\x1b\[[0-9;:]*m$/;

/** One line made safe for a terminal, colours kept. */
export function terminalSafeLine(line: string): string {
  const cr = line.replace(/\r+$/, '').lastIndexOf('\r');
  const visible = cr >= 0 ? line.slice(cr + 1) : line;
  return visible.replace(SEQUENCE, (seq) => (SGR.test(seq) ? seq : ''));
}

/** Several lines: each made safe, newlines kept. */
export function terminalSafe(text: string): string {
  return text.split('\n').map(terminalSafeLine).join('\n');
}

/** The text alone, colours dropped too (what redaction must look at: `ab\x1b[0mcd` shows as `abcd`). */
export function plainText(line: string): string {
  return terminalSafeLine(line).replace(/\x1b\[[0-9;:]*m/g, '');
}
