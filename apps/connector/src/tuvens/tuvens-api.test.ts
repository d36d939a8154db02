import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { createTuvensApiClient, type SessionValidation } from './tuvens-api.ts';

const TOKEN = 'A'.repeat(43);
const config = loadConfig({
  NODE_ENV: 'test',
  TUVENS_API_URL: 'http://tuvens-api.test',
  TUVENS_API_RETRIES: '2',
});
const validSession = {
  user_data: { id: 1, email: 'organizer@tuvens.test', name: 'Olivia Organizer' },
  account_data: { id: 1, name: 'Tuvens Demo Events', role: 'owner' },
  event: {
    id: 1,
    title: 'Summer Concert in the Park',
    starts_at: '2026-12-07T18:00:00.000Z',
    ends_at: '2026-12-07T22:00:00.000Z',
    ticketing_status: 'none',
    hi_events_event_id: null,
  },
  expires_at: '2026-12-07T18:00:00.000Z',
};

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status });
const refusedWith = (code: string, status = 401) => json(status, { error: { code, message: code } });
const connectionRefused = () => {
  throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
};

/** A client whose tuvens-api answers each try in turn from `answers`. */
function clientAnswering(answers: (() => Response)[]) {
  const sent: RequestInit[] = [];
  const client = createTuvensApiClient({
    config,
    sleep: async () => {},
    fetch: (async (_url: string, init: RequestInit) => {
      sent.push(init);
      return answers[sent.length - 1]!();
    }) as typeof fetch,
  });
  return { sent, client, validate: (): Promise<SessionValidation> => client.validateSession(TOKEN) };
}

describe('validating a cross-app session with tuvens-api', () => {
  it('sends the token in the body and the shared secret in x-shared-secret, with a timeout', async () => {
    const api = clientAnswering([() => json(200, validSession)]);
    expect(await api.validate()).toMatchObject({ ok: true, session: { user_data: { id: 1 } } });
    const [init] = api.sent;
    expect(JSON.parse(String(init!.body))).toEqual({ session_token: TOKEN });
    expect((init!.headers as Record<string, string>)['x-shared-secret']).toBe(
      'dev-cross-app-shared-secret-0123456789abcdef',
    );
    expect(init!.signal).toBeInstanceOf(AbortSignal);
    expect(init!.redirect).toBe('manual');
  });

  it('tries again after a network error or a 5xx, and not after any other answer', async () => {
    const recovered = clientAnswering([
      connectionRefused,
      () => json(503, {}),
      () => json(200, validSession),
    ]);
    expect((await recovered.validate()).ok).toBe(true);
    expect(recovered.sent).toHaveLength(3);

    const final = clientAnswering([() => refusedWith('session_expired'), () => json(200, validSession)]);
    expect(await final.validate()).toMatchObject({ ok: false, reason: 'expired' });
    expect(final.sent).toHaveLength(1);

    const down = clientAnswering([connectionRefused, connectionRefused, connectionRefused]);
    expect(await down.validate()).toMatchObject({ ok: false, reason: 'unreachable', detail: 'ECONNREFUSED' });
    expect(down.sent).toHaveLength(3);
  });

  it('turns tuvens-api’s refusals into reasons a person can be told', async () => {
    const cases: [Response, string][] = [
      [refusedWith('session_expired'), 'expired'],
      [refusedWith('session_consumed'), 'used'],
      [refusedWith('session_revoked'), 'used'],
      [refusedWith('session_unknown'), 'invalid'],
      [refusedWith('forbidden', 403), 'not_allowed'],
      [refusedWith('invalid_shared_secret'), 'misconfigured'],
      [refusedWith('session_verifier_required'), 'other_browser'],
      [refusedWith('session_verifier_mismatch'), 'other_browser'],
      [refusedWith('session_event_mismatch'), 'other_browser'],
      [json(200, { unexpected: true }), 'unreachable'],
    ];
    for (const [answer, reason] of cases) {
      expect(await clientAnswering([() => answer]).validate()).toMatchObject({ ok: false, reason });
    }
  });

  it('does not blame the person when an earlier try may have used the token and its answer was lost', async () => {
    const api = clientAnswering([() => json(502, {}), () => refusedWith('session_consumed')]);
    expect(await api.validate()).toMatchObject({ ok: false, reason: 'unreachable' });
  });

  it('sends the browser’s verifier and the linked event with the token', async () => {
    const api = clientAnswering([() => json(200, validSession)]);
    await api.client.validateSession(TOKEN, { codeVerifier: 'v'.repeat(43), eventId: 1 });
    expect(JSON.parse(String(api.sent[0]!.body))).toEqual({
      session_token: TOKEN,
      code_verifier: 'v'.repeat(43),
      event_id: 1,
    });
  });

  it('describes a session without using it, and says why it cannot', async () => {
    const description = {
      user_data: validSession.user_data,
      account_data: { id: 1, name: 'Tuvens Demo Events' },
      event: { id: 1, title: 'Summer Concert in the Park' },
      bound: false,
      expires_at: validSession.expires_at,
    };
    const api = clientAnswering([() => json(200, description), () => refusedWith('session_consumed')]);
    expect(await api.client.describeSession(TOKEN)).toEqual({ ok: true, description });
    expect(await api.client.describeSession(TOKEN)).toMatchObject({ ok: false, reason: 'used' });
    expect(JSON.parse(String(api.sent[0]!.body))).toEqual({ session_token: TOKEN });
  });
});
