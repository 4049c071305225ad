import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plainText, terminalSafe, terminalSafeLine } from './terminal-safe.js';

test('SGR colours stay; OSC, other CSI, C0/C1 controls and DEL go', () => {
  assert.equal(terminalSafeLine('\x1b[31mred\x1b[0m'), '\x1b[31mred\x1b[0m');
  assert.equal(terminalSafeLine('a\x1b]0;title\x07b'), 'ab');
  assert.equal(terminalSafeLine('a\x1b]52;c;cHduZWQ=\x1b\\b'), 'ab');
  assert.equal(terminalSafeLine('\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\'), 'click');
  assert.equal(terminalSafeLine('x\x1b[2J\x1b[Hy\x1b[?25l'), 'xy');
  assert.equal(terminalSafeLine('a\x9b2Jb\x9d0;t\x9cc'), 'abc');
  assert.equal(terminalSafeLine('a\x00b\x07c\x7fd\x08e'), 'abcde');
  assert.equal(terminalSafeLine('tab\there'), 'tab\there');
  assert.equal(terminalSafeLine('\x1bP+q544e\x1b\\after'), 'after');
  assert.equal(terminalSafeLine('unterminated \x1b]0;title'), 'unterminated ');
});

test('a carriage return keeps what was drawn last; newlines stay', () => {
  assert.equal(terminalSafeLine('10%\r50%\r100%'), '100%');
  assert.equal(terminalSafeLine('done\r'), 'done');
  assert.equal(terminalSafe('a\x1b]0;x\x07\nb'), 'a\nb');
});

test('plainText drops colours too', () => {
  assert.equal(plainText('se\x1b[1mcr\x1b[0met'), 'secret');
});
