/**
 * Terminal output (build logs, app logs) to HTML that is safe to put inside a <pre>.
 *
 * Everything that is not an SGR colour/weight code is dropped: cursor movement, erase, OSC
 * sequences (window titles, OSC 8 hyperlinks: the link text stays, the URL goes), other escape
 * sequences and control characters. Text is HTML-escaped; styles become class names only (the
 * dashboard's CSP has no inline styles), so no byte of the input can become markup or an attribute.
 */

interface Style {
  fg: number | undefined;
  bg: number | undefined;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
}

const plain = (): Style => ({ fg: undefined, bg: undefined, bold: false, dim: false, italic: false, underline: false });

/** The colour state a stream of lines carries from one line to the next. */
export type AnsiState = Style;
export const newAnsiState = plain;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
}

/**
 * One token at a time: CSI (ESC [ or the C1 byte 0x9b), a string sequence (OSC, DCS, APC, PM,
 * SOS: up to BEL or ST, or to the end of the line when unterminated), any other escape, a control
 * character, or a run of text (tabs included).
 */
const TOKEN = /(?:\x1b\[|\x9b)([0-?]*)[ -/]*([@-~])?|(?:\x1b[\]P_^X]|[\x90\x98\x9d-\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?|\x1b[ -/]*[0-~]?|[\x00-\x08\x0b-\x1f\x7f-\x9f]|[^\x00-\x08\x0b-\x1f\x7f-\x9f]+/g;

/** Renders a whole text (many lines); newlines are kept as they are. */
export function ansiToHtml(text: string): string {
  const style = plain();
  return text.split('\n').map((line) => renderLine(line, style)).join('\n');
}

/** Renders one line; `style` carries over from earlier lines, as a terminal's would. */
export function renderLine(line: string, style: AnsiState = plain()): string {
  let out: string[] = [];
  // A bare CR is a progress bar redrawing its line: only what comes after the last one is shown.
  const body = line.endsWith('\r') ? line.slice(0, -1) : line;
  for (const m of body.matchAll(TOKEN)) {
    const tok = m[0];
    if (!isControl(tok.charCodeAt(0))) {
      out.push(wrap(escapeHtml(tok), style));
    } else if (m[2] === 'm') {
      applySgr(style, m[1] ?? '');
    } else if (tok === '\r') {
      out = [];
    }
    // Everything else (other sequences, control characters) is dropped.
  }
  return out.join('');
}

function isControl(code: number): boolean {
  return code < 0x20 || (code >= 0x7f && code <= 0x9f);
}

function wrap(html: string, s: Style): string {
  const cls: string[] = [];
  if (s.bold) cls.push('ab');
  if (s.dim) cls.push('ad');
  if (s.italic) cls.push('ai');
  if (s.underline) cls.push('au');
  if (s.fg !== undefined) cls.push(`af${s.fg}`);
  if (s.bg !== undefined) cls.push(`ag${s.bg}`);
  return cls.length === 0 ? html : `<span class="${cls.join(' ')}">${html}</span>`;
}

function applySgr(s: Style, params: string): void {
  // Only digits and separators count; private-mode markers (<=>?) make it not an SGR we know.
  if (/[^0-9;:]/.test(params)) return;
  const codes = params === '' ? [0] : params.split(/[;:]/).map((p) => (p === '' ? 0 : Number(p)));
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i]!;
    if (c === 0) Object.assign(s, plain());
    else if (c === 1) s.bold = true;
    else if (c === 2) s.dim = true;
    else if (c === 3) s.italic = true;
    else if (c === 4) s.underline = true;
    else if (c === 22) { s.bold = false; s.dim = false; }
    else if (c === 23) s.italic = false;
    else if (c === 24) s.underline = false;
    else if (c >= 30 && c <= 37) s.fg = c - 30;
    else if (c === 39) s.fg = undefined;
    else if (c >= 40 && c <= 47) s.bg = c - 40;
    else if (c === 49) s.bg = undefined;
    else if (c >= 90 && c <= 97) s.fg = c - 90 + 8;
    else if (c >= 100 && c <= 107) s.bg = c - 100 + 8;
    else if (c === 38 || c === 48) {
      const [colour, used] = extendedColour(codes, i + 1);
      if (colour !== undefined) {
        if (c === 38) s.fg = colour;
        else s.bg = colour;
      }
      i += used;
    }
  }
}

/** `5;n` (256 colours) or `2;r;g;b` (truecolour), folded onto the 16 classes the CSS has. */
function extendedColour(codes: number[], at: number): [number | undefined, number] {
  const mode = codes[at];
  if (mode === 5) {
    const n = codes[at + 1];
    if (n === undefined || n > 255) return [undefined, 2];
    if (n < 16) return [n, 2];
    if (n >= 232) return [n < 244 ? 8 : 7, 2];
    const v = n - 16;
    return [fold(Math.floor(v / 36) * 51, (Math.floor(v / 6) % 6) * 51, (v % 6) * 51), 2];
  }
  if (mode === 2) {
    const [r, g, b] = [codes[at + 1], codes[at + 2], codes[at + 3]];
    if (r === undefined || g === undefined || b === undefined) return [undefined, 4];
    return [fold(r, g, b), 4];
  }
  return [undefined, 1];
}

function fold(r: number, g: number, b: number): number {
  const base = (r >= 128 ? 1 : 0) | (g >= 128 ? 2 : 0) | (b >= 128 ? 4 : 0);
  const bright = Math.max(r, g, b) >= 200;
  if (base === 0) return Math.max(r, g, b) >= 64 ? 8 : 0;
  return bright ? base + 8 : base;
}

/** The text alone, without any escape sequence or control character (for titles, tests). */
export function stripAnsi(text: string): string {
  return text.split('\n').map((l) => renderLine(l).replace(/<[^>]*>/g, '')
    .replace(/&(amp|lt|gt|quot|#39);/g, (e) => ({ '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" })[e]!)).join('\n');
}
