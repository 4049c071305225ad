import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanPattern, isIgnored, matchPath, compilePattern, parseDockerignore, MAX_PATTERNS } from './dockerignore.js';

const ignored = (dockerignore: string, path: string) => isIgnored(parseDockerignore(dockerignore), path);
const matches = (pattern: string, path: string) => matchPath(compilePattern(pattern), path).full;

describe('.dockerignore matching (Docker semantics, linear time)', () => {
  test('filepath.Match syntax: * ? [classes] and escapes; * and ? never cross /', () => {
    assert.ok(matches('*.md', 'README.md'));
    assert.ok(!matches('*.md', 'docs/guide.md'));
    assert.ok(matches('a?c', 'abc'));
    assert.ok(!matches('a?c', 'a/c'));
    assert.ok(matches('[a-c]x', 'bx'));
    assert.ok(!matches('[a-c]x', 'dx'));
    assert.ok(matches('[^a-c]x', 'dx'));
    assert.ok(matches('[!a-c]x', 'dx'));
    assert.ok(!matches('[^a]x', '/x'));
    assert.ok(matches('\\*', '*'));
    assert.ok(!matches('\\*', 'a'));
    assert.ok(matches('[', '['), 'an unclosed class is a literal');
  });

  test('** matches any number of folders, also none; a trailing ** matches everything below', () => {
    assert.ok(matches('**/foo', 'foo'));
    assert.ok(matches('**/foo', 'a/b/foo'));
    assert.ok(!matches('**/foo', 'a/bfoo'));
    assert.ok(matches('a/**/b', 'a/b'));
    assert.ok(matches('a/**/b', 'a/x/y/b'));
    assert.ok(matches('a/**', 'a/x/y'));
    assert.ok(matches('**', 'anything/at/all'));
    // As Docker compiles it: `**` not followed by `/` is still "(.*/)?".
    assert.ok(matches('**.go', 'x/.go'));
    assert.ok(!matches('**.go', 'x/y.go'));
  });

  test('regular expression syntax is literal: (a+)+b matches only that name', () => {
    assert.ok(matches('(a+)+b', '(a+)+b'));
    assert.ok(!matches('(a+)+b', 'aaab'));
    assert.ok(matches('a{2}|b', 'a{2}|b'));
    assert.ok(matches('x.$', 'x.$'));
    assert.ok(!matches('x.$', 'xy'));
  });

  test('a file in an ignored folder is ignored; exceptions bring files back; the last matching line wins', () => {
    const rules = 'node_modules\nwww/drafts/\n!www/drafts/ok.html\n*.log\n!keep.log\n';
    assert.ok(ignored(rules, 'node_modules'));
    assert.ok(ignored(rules, 'node_modules/x/index.js'));
    assert.ok(!ignored(rules, 'src/node_modules_x'));
    assert.ok(ignored(rules, 'www/drafts/secret.html'));
    assert.ok(!ignored(rules, 'www/drafts/ok.html'));
    assert.ok(ignored(rules, 'a.log'));
    assert.ok(!ignored(rules, 'keep.log'));
    assert.ok(ignored('**/secret\n', 'a/b/secret/c.txt'));
    assert.ok(ignored('*\n!src\n', 'README.md'));
    assert.ok(!ignored('*\n!src\n', 'src/main.go'));
  });

  test('parsing: comments, blank lines, spaces, leading / and ./ and .. are cleaned as Docker cleans them', () => {
    assert.deepEqual(parseDockerignore('# c\n\n  /a/./b/  \n!  c \n!\n').map((p) => [p.pattern, p.exclusion]), [['a/b', false], ['c', true]]);
    assert.equal(cleanPattern('a/../b'), 'b');
    assert.equal(cleanPattern('./'), '.');
    assert.throws(() => parseDockerignore('x\n'.repeat(MAX_PATTERNS + 1)), /more than 1000 patterns/);
  });

  test('case-sensitive, as Docker on Linux', () => {
    assert.ok(!ignored('readme.md\n', 'README.md'));
  });

  test('catastrophic patterns and long paths stay linear', () => {
    const t0 = performance.now();
    const rules = parseDockerignore(['(a+)+b', '*a*a*a*a*a*a*a*a*a*a*a*a*b', '**/**/**/**/**/**/**/x', '[a-z]*[a-z]*[a-z]*[a-z]*!'].join('\n'));
    const long = 'a'.repeat(4000) + 'c';
    const deep = Array.from({ length: 1000 }, () => 'a').join('/') + '/c';
    for (let i = 0; i < 20; i++) {
      assert.equal(isIgnored(rules, long), false);
      assert.equal(isIgnored(rules, deep), false);
    }
    const ms = performance.now() - t0;
    // 160 matches over 4,000-character paths; a backtracking matcher takes longer than the universe.
    assert.ok(ms < 2000, `took ${ms.toFixed(0)} ms`);
  });
});
