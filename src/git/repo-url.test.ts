import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkRepoUrl, repoIdentity, repoUrlProblem, sameRepository } from './repo-url.js';

describe('repo URLs', { timeout: 10_000 }, () => {
  it('accept GitHub https URLs and http to this machine only', () => {
    for (const ok of [
      'https://github.com/me/app.git', 'https://github.com/me/app', 'https://GitHub.com/Me/App.git', 'https://git.example.com:8443/a/b/c.git',
      'http://127.0.0.1:4567/acme/site.git', 'http://localhost/acme/site.git', 'http://[::1]:8080/acme/site.git',
    ]) assert.equal(repoUrlProblem(ok), undefined, ok);
    assert.equal(checkRepoUrl('HTTPS://GitHub.com/me/app.git').href, 'https://github.com/me/app.git');
  });

  it('refuse what git would turn into something else', () => {
    const bad: [string, RegExp][] = [
      ['', /empty/],
      ['file:///etc/passwd', /only https/],
      ['file://localhost/srv/repo.git', /only https/],
      ['/srv/git/app.git', /only https/],
      ['./app.git', /only https/],
      ['ext::sh -c touch% /tmp/pwned', /spaces|only https/],
      ['ext::sh', /only https/],
      ['ssh://-oProxyCommand=touch%20x/repo', /only https/],
      ['git@github.com:me/app.git', /user name/],
      ['-uhttps://github.com/x', /starts with "-"/],
      ['--upload-pack=touch /tmp/x', /starts with "-"/],
      ['https://user:pw@github.com/me/app.git', /user name/],
      ['https://ghp_token@github.com/me/app.git', /user name/],
      ['http://github.com/me/app.git', /only allowed to this machine/],
      ['http://127.0.0.1.nip.io/me/app.git', /only allowed to this machine/],
      ['https://github.com\\@evil.example/x.git', /user name|"\\"/],
      ['https://github.com\\evil/x.git', /"\\"/],
      ['https://github.com/me/app.git?upload-pack=x', /"\?"/],
      ['https://github.com/me/app.git#main', /"#"/],
      ['https://github.com/me/app git', /spaces/],
      ['https://github.com/me/app\n.git', /spaces/],
      ['https://gïthub.com/me/app.git', /non-ASCII/],
      ['https://github.com/', /names no repository/],
      ['https://github.com/me/../../x.git', /"\.\."/],
      ['https://-evil.example/x.git', /not a host name/],
      ['gopher://github.com/me/app.git', /only https/],
      [`https://github.com/${'a'.repeat(500)}`, /longer than 500/],
    ];
    for (const [url, why] of bad) {
      assert.match(repoUrlProblem(url) ?? 'accepted', why, url);
      assert.throws(() => checkRepoUrl(url), (e: Error) => /repo_url must be an https:\/\/ URL/.test(e.message), url);
    }
  });

  it('match a payload repository by clone_url or html_url, whatever the case, .git or slash', () => {
    const repo = { full_name: 'Acme/Site', html_url: 'https://github.com/Acme/Site', clone_url: 'https://github.com/Acme/Site.git' };
    assert.equal(repoIdentity('https://github.com/acme/site.git/'), 'github.com/acme/site');
    for (const mine of ['https://github.com/acme/site.git', 'https://github.com/Acme/Site', 'https://github.com:443/acme/site/']) assert.ok(sameRepository(mine, repo), mine);
    assert.ok(sameRepository('https://github.com/acme/site.git', { html_url: 'https://github.com/Acme/Site' }));
    for (const other of ['https://github.com/acme/site2.git', 'https://github.com/evil/site.git', 'https://gitlab.com/acme/site.git', 'https://github.com/acme/site/x.git']) {
      assert.ok(!sameRepository(other, repo), other);
    }
    assert.ok(!sameRepository('https://github.com/acme/site.git', null));
    assert.ok(!sameRepository('https://github.com/acme/site.git', { clone_url: 'git@github.com:acme/site.git' }));
  });
});
