import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HiyError } from '../errors.js';
import { scopeCacheMounts } from './cache-mounts.js';

const refused = (text: string, pattern: RegExp) => assert.throws(() => scopeCacheMounts(text, 'shop'), (e: unknown) => e instanceof HiyError && e.code === 'build_failed' && pattern.test(e.message));

describe('cache mounts of a pushed Dockerfile are put in the app\'s namespace', () => {
  it('keeps a named id inside hiy/<app>/', () => {
    const r = scopeCacheMounts('FROM x\nRUN --mount=type=cache,id=npm,target=/root/.npm npm ci\n', 'shop');
    assert.equal(r.text, 'FROM x\nRUN --mount=type=cache,target=/root/.npm,id=hiy/shop/npm npm ci\n');
    assert.deepEqual([r.usesMounts, r.cacheMounts], [true, 1]);
  });

  it('gives a mount without id the target as id (BuildKit\'s default), namespaced', () => {
    const r = scopeCacheMounts('FROM x\nRUN --mount=type=cache,target=/root/.cache/pip pip install -r r.txt\n', 'shop');
    assert.match(r.text, /--mount=type=cache,target=\/root\/\.cache\/pip,id=hiy\/shop\/root\/\.cache\/pip pip install/);
  });

  it('cannot name another app\'s cache: its id is only ever a part of this app\'s', () => {
    const r = scopeCacheMounts('FROM x\nRUN --mount=type=cache,id=hiy/other/npm,target=/c ls /c\n', 'shop');
    assert.match(r.text, /id=hiy\/shop\/hiy\/other\/npm /);
    // Two apps whose names would run together with a "-" (shop + "x-npm" vs shop-x + "npm") stay apart.
    assert.notEqual(scopeCacheMounts('FROM x\nRUN --mount=type=cache,id=x-npm,target=/c true\n', 'shop').text,
      scopeCacheMounts('FROM x\nRUN --mount=type=cache,id=npm,target=/c true\n', 'shop-x').text.replace('shop-x', 'shop'));
  });

  it('rewrites every cache mount of a step, also identical ones, and continuation lines', () => {
    const r = scopeCacheMounts('FROM x\nRUN --mount=type=cache,target=/a \\\n    --mount=type=cache,target=/a \\\n    --mount=type=bind,target=/b true\nCMD ["x"]\n', 'shop');
    assert.equal(r.cacheMounts, 2);
    assert.equal((r.text.match(/id=hiy\/shop\/a/g) ?? []).length, 2, r.text);
    assert.match(r.text, /--mount=type=bind,target=\/b true\nCMD/);
  });

  it('reads continuation lines as BuildKit does: joined as they are, blank and comment lines skipped', () => {
    // A flag split over lines, and a mount after a blank line, are still seen (and scoped).
    const split = scopeCacheMounts('FROM x\nRUN --mo\\\nunt=type=cache,id=hiy/other/npm,target=/c true\n', 'shop');
    assert.match(split.text, /--mount=type=cache,target=\/c,id=hiy\/shop\/hiy\/other\/npm true/);
    const blank = scopeCacheMounts('FROM x\nRUN --network=none \\\n\n# note\n--mount=type=cache,id=npm,target=/c true\n', 'shop');
    assert.match(blank.text, /--mount=type=cache,target=\/c,id=hiy\/shop\/npm true/);
    assert.equal(blank.cacheMounts, 1);
  });

  it('scopes ONBUILD RUN triggers as well (they run later, in a build FROM this image)', () => {
    assert.match(scopeCacheMounts('FROM x\nONBUILD RUN --mount=type=cache,id=hiy/other/npm,target=/c cat /c/x\n', 'shop').text,
      /^ONBUILD RUN --mount=type=cache,target=\/c,id=hiy\/shop\/hiy\/other\/npm cat/m);
  });

  it('honours the escape directive', () => {
    const r = scopeCacheMounts('# escape=`\nFROM x\nRUN --mount=type=cache,target=/a `\n  true\n', 'shop');
    assert.match(r.text, /RUN --mount=type=cache,target=\/a,id=hiy\/shop\/a +true/);
  });

  it('leaves a Dockerfile without cache mounts as it is', () => {
    const text = 'FROM x\n# RUN --mount=type=cache,target=/a\nRUN echo --mount=type=cache,target=/a\n';
    assert.deepEqual(scopeCacheMounts(text, 'shop'), { text, usesMounts: false, cacheMounts: 0 });
    assert.equal(scopeCacheMounts('FROM x\nRUN --mount=type=tmpfs,target=/t true\n', 'shop').usesMounts, true);
  });

  it('refuses what would reach outside the app: from=, source=, variables, hiy\'s own cache folder', () => {
    refused('FROM x\nRUN --mount=type=cache,target=/a,from=hiy/other:1 true\n', /from= or source=/);
    refused('FROM x\nRUN --mount=type=cache,target=/a,source=/x true\n', /from= or source=/);
    refused('FROM x\nARG ID=hiy/other/npm\nRUN --mount=type=cache,target=/a,id=$ID true\n', /variables/);
    refused('FROM x\nRUN --mount=type=cache,target=/var/cache/hiy/other/npm true\n', /\/var\/cache\/hiy/);
    refused('FROM x\nRUN --mount=type=cache,id="x",target=/a true\n', /quotes/);
    refused('FROM x\nRUN --mount=type=cache true\n', /needs target/);
  });
});
