import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ansiToHtml, escapeHtml, stripAnsi } from './ansi.js';

const ESC = '\x1b';

describe('ANSI renderer', { timeout: 10_000 }, () => {
  it('escapes HTML so a log line can never become markup', () => {
    assert.equal(ansiToHtml('<script>alert("x")</script> & \'y\''), '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;');
    assert.equal(escapeHtml('<img src=x onerror=alert(1)>'), '&lt;img src=x onerror=alert(1)&gt;');
  });

  it('keeps SGR colours and weights as class names', () => {
    assert.equal(ansiToHtml(`${ESC}[31mred${ESC}[0m plain`), '<span class="af1">red</span> plain');
    assert.equal(ansiToHtml(`${ESC}[1;32mok${ESC}[22m still green${ESC}[39m`), '<span class="ab af2">ok</span><span class="af2"> still green</span>');
    assert.equal(ansiToHtml(`${ESC}[93;44mhi${ESC}[m`), '<span class="af11 ag4">hi</span>');
    assert.equal(ansiToHtml(`${ESC}[4;3mu${ESC}[24;23mx`), '<span class="ai au">u</span>x');
  });

  it('folds 256-colour and truecolour codes onto the 16 classes', () => {
    assert.equal(ansiToHtml(`${ESC}[38;5;9mx`), '<span class="af9">x</span>');
    assert.equal(ansiToHtml(`${ESC}[38;5;196mx`), '<span class="af9">x</span>');
    assert.equal(ansiToHtml(`${ESC}[48;2;0;0;139mx`), '<span class="ag4">x</span>');
    assert.equal(ansiToHtml(`${ESC}[38;5;240mx`), '<span class="af8">x</span>');
    // A truncated extended colour changes nothing and does not eat the text.
    assert.equal(ansiToHtml(`${ESC}[38;5mx`), 'x');
  });

  it('carries a style across lines, as a terminal does', () => {
    assert.equal(ansiToHtml(`${ESC}[36mone\ntwo${ESC}[0m\nthree`), '<span class="af6">one</span>\n<span class="af6">two</span>\nthree');
  });

  it('strips OSC sequences: hyperlinks keep their text and lose their URL, titles vanish', () => {
    const link = `${ESC}]8;;javascript:alert(1)${ESC}\\click me${ESC}]8;;${ESC}\\`;
    assert.equal(ansiToHtml(link), 'click me');
    assert.equal(ansiToHtml(`${ESC}]0;window title\x07after`), 'after');
    assert.equal(ansiToHtml(`${ESC}]8;;http://evil/\x07link`), 'link');
    // Unterminated: swallowed to the end of the line, the next line is intact.
    assert.equal(ansiToHtml(`before${ESC}]8;;http://evil/ text\nnext`), 'before\nnext');
    assert.equal(ansiToHtml(`${ESC}P1;2|payload${ESC}\\x`), 'x');
  });

  it('drops cursor movement, erase, private modes and stray control characters', () => {
    assert.equal(ansiToHtml(`${ESC}[2K${ESC}[1A${ESC}[?25lok${ESC}[?25h`), 'ok');
    assert.equal(ansiToHtml(`a\x00b\x07c\x08d\x7fe\x9bf`), 'abcde');
    assert.equal(ansiToHtml(`${ESC}(Bx${ESC}7y${ESC}`), 'xy');
    assert.equal(ansiToHtml('tab\there'), 'tab\there');
  });

  it('shows only the last redraw of a carriage-return progress line', () => {
    assert.equal(ansiToHtml('10%\r50%\r100%'), '100%');
    assert.equal(ansiToHtml('done\r\nnext'), 'done\nnext');
  });

  it('cannot be tricked into opening an attribute or tag through class names', () => {
    // Parameters that are not plain numbers are ignored entirely.
    assert.equal(ansiToHtml(`${ESC}[31;<1mx`), 'x');
    // A quote is an intermediate byte: the sequence ends at the next final byte, the rest is text.
    assert.equal(ansiToHtml(`${ESC}[31;"onmouseover=x m<b>`), 'nmouseover=x m&lt;b&gt;');
    const html = ansiToHtml(`${ESC}[1;31;42;4m"><svg onload=alert(1)>`);
    assert.doesNotMatch(html, /<svg/);
    assert.match(html, /^<span class="[a-z0-9 ]+">&quot;&gt;&lt;svg onload=alert\(1\)&gt;<\/span>$/);
  });

  it('strips to plain text', () => {
    assert.equal(stripAnsi(`${ESC}[31m<red> & co${ESC}[0m`), '<red> & co');
  });
});
