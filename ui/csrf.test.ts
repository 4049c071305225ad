import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { csrfToken, csrfValid, originAllowed } from './csrf.js';
import { safeNext } from './request.js';

describe('CSRF', { timeout: 10_000 }, () => {
  const session = 'a'.repeat(43);
  const other = 'b'.repeat(43);

  it('derives a stable token per session that another session cannot use', () => {
    const t = csrfToken(session);
    assert.match(t, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(csrfToken(session), t);
    assert.notEqual(csrfToken(other), t);
    assert.equal(csrfValid(session, t), true);
    assert.equal(csrfValid(other, t), false);
  });

  it('refuses a missing, empty, truncated or padded token', () => {
    const t = csrfToken(session);
    for (const bad of [undefined, '', t.slice(0, -1), `${t}x`, t.toUpperCase()]) assert.equal(csrfValid(session, bad), false, String(bad));
  });

  it('accepts only the dashboard\'s own origin', () => {
    const self = 'https://hiy.example.com';
    assert.equal(originAllowed({ origin: 'https://hiy.example.com', secFetchSite: undefined }, self), true);
    assert.equal(originAllowed({ origin: 'HTTPS://HIY.EXAMPLE.COM', secFetchSite: undefined }, self), true);
    assert.equal(originAllowed({ origin: 'https://blog.example.com', secFetchSite: 'same-site' }, self), false, 'an app on a sibling subdomain');
    assert.equal(originAllowed({ origin: 'http://hiy.example.com', secFetchSite: undefined }, self), false, 'scheme matters');
    assert.equal(originAllowed({ origin: 'https://hiy.example.com:8443', secFetchSite: undefined }, self), false, 'port matters');
    assert.equal(originAllowed({ origin: 'null', secFetchSite: 'cross-site' }, self), false);
    // A claimed same-origin Sec-Fetch-Site never overrides a foreign Origin.
    assert.equal(originAllowed({ origin: 'https://evil.test', secFetchSite: 'same-origin' }, self), false);
  });

  it('without Origin, trusts only Sec-Fetch-Site: same-origin (and refuses non-browser posts)', () => {
    assert.equal(originAllowed({ origin: undefined, secFetchSite: 'same-origin' }, 'http://127.0.0.1:3000'), true);
    assert.equal(originAllowed({ origin: undefined, secFetchSite: 'same-site' }, 'http://127.0.0.1:3000'), false);
    assert.equal(originAllowed({ origin: undefined, secFetchSite: undefined }, 'http://127.0.0.1:3000'), false);
  });
});

describe('next after sign-in', { timeout: 10_000 }, () => {
  it('stays on this site', () => {
    assert.equal(safeNext('/apps/blog?x=1'), '/apps/blog?x=1');
    for (const bad of [undefined, '', 'https://evil.test/', '//evil.test/', '/\\evil.test', 'javascript:alert(1)', '/login', '/logout', '/a\nb']) {
      assert.equal(safeNext(bad), '/', String(bad));
    }
  });
});
