import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, type Stack, startStack } from './stack.ts';

/**
 * Attacks on the web server itself, each reproduced over HTTP against the built app. The web server
 * reads the browser's address from `X-Forwarded-For` here (adapter-node's `ADDRESS_HEADER`), as
 * behind a proxy, so that one test can speak from several addresses.
 */
describe('the web server under attack', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      browser: false,
      apiEnv: { RATE_LIMIT_LOGIN_PER_MINUTE: '10' },
      webEnv: { ADDRESS_HEADER: 'x-forwarded-for', XFF_DEPTH: '1' },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const signIn = (address: string, email: string, password: string) =>
    fetch(`${stack.web.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        accept: 'text/html',
        'content-type': 'application/x-www-form-urlencoded',
        origin: stack.web.url,
        'x-forwarded-for': address,
      },
      body: new URLSearchParams({ email, password }),
    });

  it('ten wrong passwords from one address do not lock the right password out from another', async () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      expect((await signIn('198.51.100.10', DEMO.member, 'guess')).status).toBe(400);
    }
    expect((await signIn('198.51.100.10', DEMO.member, 'guess')).status).toBe(429);

    const honest = await signIn('198.51.100.20', DEMO.member, DEMO.password);
    expect(honest.status).toBe(303);
    expect(honest.headers.get('set-cookie')).toMatch(/tuvens_session=/);
  });
});
