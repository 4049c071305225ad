import assert from 'node:assert/strict';

/** Signs in to the dashboard as its form does (login cookie + form token), returns the session cookie. */
export async function dashboardSession(url: string, password: string, next = '/system'): Promise<string> {
  const form = await fetch(`${url}/login`);
  const loginCookie = (form.headers.get('set-cookie') ?? '').split(';')[0]!;
  const token = /name="_login" value="([^"]+)"/.exec(await form.text())?.[1];
  assert.ok(loginCookie && token, 'the sign-in form');
  const res = await fetch(`${url}/login`, {
    method: 'POST', redirect: 'manual', body: new URLSearchParams({ password, _login: token, next }),
    headers: { cookie: loginCookie, origin: url, 'content-type': 'application/x-www-form-urlencoded' },
  });
  const session = res.headers.getSetCookie().find((c) => c.startsWith('hiy_session='));
  assert.ok(session, `signed in (${res.status})`);
  return session.split(';')[0]!;
}
