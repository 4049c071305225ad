import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HiyError } from '../errors.js';
import { ENV_VALUE_MAX, validateAppName, validateEnvKey, validateEnvValue } from './names.js';

function refused(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof HiyError && err.status === 400 && pattern.test(err.message));
}

describe('app names', { timeout: 10_000 }, () => {
  it('accepts lowercase slugs up to 30 characters', () => {
    for (const n of ['a', 'blog', 'my-app', 'app2', 'a1-b2-c3', `a${'b'.repeat(29)}`]) assert.equal(validateAppName(n), n);
  });

  it('refuses everything else with the rule', () => {
    const bad = ['../x', 'A', 'Blog', 'a;id', '$(id)', '-rf', 'a'.repeat(100), `a${'b'.repeat(30)}`, '', '1app', 'app-', 'a--b',
      'a_b', 'a.b', 'a/b', 'a b', 'ä', 'a\n', ' a', 'a\0'];
    for (const n of bad) refused(() => validateAppName(n), /app names are 1-30 characters: lowercase letters, digits and "-"/);
    refused(() => validateAppName(42), /invalid app name number/);
    refused(() => validateAppName(undefined), /invalid app name undefined/);
  });

  it('shortens a long name in the message', () => {
    assert.throws(() => validateAppName('a'.repeat(100)), (err: Error) => err.message.length < 250 && err.message.includes('…'));
  });

  it('refuses reserved names', () => {
    for (const n of ['hiy', 'api', 'git', 'www', 'admin']) refused(() => validateAppName(n), /is reserved/);
  });
});

describe('env keys and values', { timeout: 10_000 }, () => {
  it('accepts shell-style keys', () => {
    for (const k of ['A', '_X', 'DATABASE_URL', 'a1', 'x'.repeat(128)]) assert.equal(validateEnvKey(k), k);
  });

  it('refuses bad keys saying what is allowed', () => {
    for (const k of ['1A', 'A-B', 'A B', 'A=B', '', '$(id)', 'É', 'x'.repeat(129), 'A\n']) {
      refused(() => validateEnvKey(k), /letters, digits and "_", not starting with a digit/);
    }
    refused(() => validateEnvKey('PORT'), /PORT is set by hiy/);
  });

  it('bounds values and names only the key in errors', () => {
    assert.equal(validateEnvValue('K', ''), '');
    assert.equal(validateEnvValue('K', 'x'.repeat(ENV_VALUE_MAX)), 'x'.repeat(ENV_VALUE_MAX));
    refused(() => validateEnvValue('K', 'x'.repeat(ENV_VALUE_MAX + 1)), /^value of K is larger than 32 KiB$/);
    refused(() => validateEnvValue('K', 'é'.repeat(ENV_VALUE_MAX / 2 + 1)), /larger than/);
    refused(() => validateEnvValue('K', 'se\0cret'), /^value of K contains a NUL byte$/);
    refused(() => validateEnvValue('K', 5), /^value of K must be a string$/);
  });
});
