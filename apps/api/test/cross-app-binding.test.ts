import { createHash, randomBytes } from 'node:crypto';
import { testDatabaseKind } from '@tuvens/database/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_SHARED_SECRET, startTestApi, type TestApi } from './helpers.ts';

/** A PKCE pair as the connector makes it: 32 random bytes, and their S256. */
function pkcePair() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

describe(`a cross-app session bound to the browser that started it (${testDatabaseKind})`, () => {
  let api: TestApi;
  let organizer: string;

  beforeAll(async () => {
    api = await startTestApi();
    organizer = await api.login('organizer@tuvens.test');
  });
  afterAll(() => api.close());

  const generate = async (codeChallenge?: string, eventId = 1) => {
    const generated = await api.request('POST', '/api/cross-app/generate-session', {
      body: { eventId, appId: 'hi-events', ...(codeChallenge ? { codeChallenge } : {}) },
      headers: { authorization: `Bearer ${organizer}` },
    });
    expect(generated.status).toBe(200);
    return generated.body.session_token as string;
  };
  const validate = (body: Record<string, unknown>) =>
    api.request('POST', '/api/cross-app/validate-session', {
      body,
      headers: { 'x-shared-secret': DEV_SHARED_SECRET },
    });
  const describeSession = (sessionToken: string, secret: string | null = DEV_SHARED_SECRET) =>
    api.request('POST', '/api/cross-app/describe-session', {
      body: { session_token: sessionToken },
      headers: secret ? { 'x-shared-secret': secret } : {},
    });
  const storedSession = (sessionToken: string) =>
    api.database.db
      .selectFrom('crossAppSession')
      .selectAll()
      .where('sessionTokenHash', '=', createHash('sha256').update(sessionToken).digest('hex'))
      .executeTakeFirstOrThrow();

  it('stores the code challenge with the session', async () => {
    const { challenge } = pkcePair();
    const token = await generate(challenge);
    expect((await storedSession(token)).code_challenge).toBe(challenge);
    const unbound = await generate();
    expect((await storedSession(unbound)).code_challenge).toBeNull();
  });

  it('refuses a malformed code challenge with a 400 naming it', async () => {
    const generated = await api.request('POST', '/api/cross-app/generate-session', {
      body: { eventId: 1, appId: 'hi-events', codeChallenge: 'plain-text' },
      headers: { authorization: `Bearer ${organizer}` },
    });
    expect(generated.status).toBe(400);
    expect(JSON.stringify(generated.body)).toContain('codeChallenge');
  });

  it('consumes a bound session with its own verifier', async () => {
    const { verifier, challenge } = pkcePair();
    const token = await generate(challenge);
    const validated = await validate({ session_token: token, code_verifier: verifier, event_id: 1 });
    expect(validated.status).toBe(200);
    expect(validated.body.event.id).toBe(1);
    expect((await storedSession(token)).consumed_at).not.toBeNull();
  });

  it('refuses a bound session without a verifier, and leaves it unconsumed for its own browser', async () => {
    const { verifier, challenge } = pkcePair();
    const token = await generate(challenge);
    const refused = await validate({ session_token: token });
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('session_verifier_required');
    const row = await storedSession(token);
    expect(row.consumed_at).toBeNull();
    expect(row.revoked_at).toBeNull();
    expect((await validate({ session_token: token, code_verifier: verifier })).status).toBe(200);
  });

  it('refuses a bound session with another browser’s verifier, and consumes nothing', async () => {
    const { verifier, challenge } = pkcePair();
    const token = await generate(challenge);
    const refused = await validate({ session_token: token, code_verifier: pkcePair().verifier });
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('session_verifier_mismatch');
    expect((await storedSession(token)).consumed_at).toBeNull();
    expect((await validate({ session_token: token, code_verifier: verifier })).status).toBe(200);
  });

  it('refuses a verifier for a session that was not bound to one', async () => {
    const token = await generate();
    const refused = await validate({ session_token: token, code_verifier: pkcePair().verifier });
    expect(refused.body.error.code).toBe('session_verifier_mismatch');
    expect((await storedSession(token)).consumed_at).toBeNull();
  });

  it('refuses a session for another event than the link named, unconsumed', async () => {
    const { verifier, challenge } = pkcePair();
    const token = await generate(challenge);
    const refused = await validate({ session_token: token, code_verifier: verifier, event_id: 2 });
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('session_event_mismatch');
    expect((await storedSession(token)).consumed_at).toBeNull();
  });

  it('of 10 concurrent validations with the right verifier, exactly one succeeds', async () => {
    const { verifier, challenge } = pkcePair();
    const token = await generate(challenge);
    const results = await Promise.all(
      Array.from({ length: 10 }, () => validate({ session_token: token, code_verifier: verifier })),
    );
    expect(results.filter((result) => result.status === 200)).toHaveLength(1);
  });

  it('describes a fresh session without consuming it', async () => {
    const token = await generate();
    const described = await describeSession(token);
    expect(described.status).toBe(200);
    expect(described.body).toMatchObject({
      user_data: { email: 'organizer@tuvens.test', name: 'Olivia Organizer' },
      account_data: { name: 'Tuvens Demo Events' },
      event: { id: 1, title: 'Summer Concert in the Park' },
      bound: false,
    });
    expect((await storedSession(token)).consumed_at).toBeNull();
    expect((await validate({ session_token: token })).status).toBe(200);
    const again = await describeSession(token);
    expect(again.status).toBe(401);
    expect(again.body.error.code).toBe('session_consumed');
    expect((await storedSession(token)).revoked_at).toBeNull();
  });

  it('says whether a described session is bound', async () => {
    const token = await generate(pkcePair().challenge);
    expect((await describeSession(token)).body.bound).toBe(true);
  });

  it('describes a session only to a caller with the shared secret', async () => {
    const token = await generate();
    const refused = await describeSession(token, null);
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('invalid_shared_secret');
    expect((await describeSession('A'.repeat(43))).body.error.code).toBe('session_unknown');
  });
});
