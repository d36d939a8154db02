import { signSeedSignature } from '@tuvens/contracts/signatures';
import { createManualClock } from '@tuvens/server';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { createWebhookVerifier } from './verify.ts';

const SECRET = 'test-hi-events-secret-0123456789abcdef-current';
const OLD_SECRET = 'test-hi-events-secret-0123456789abcdef-previous';
const BODY = JSON.stringify({ id: 'whmsg_1', type: 'event.status_changed', data: { status: 'active' } });
const MINUTE_MS = 60_000;

function standardHeaders(body: string, { secret = SECRET, at = new Date(), id = 'whmsg_1' } = {}) {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret, { format: 'raw' }).sign(id, at, body),
  };
}

describe('webhook signature verification', () => {
  const { clock } = createManualClock();
  const verify = createWebhookVerifier([SECRET, OLD_SECRET], clock);
  const raw = (body: string) => Buffer.from(body);

  it('accepts a body signed by the standardwebhooks package’s own signer', () => {
    expect(verify(raw(BODY), standardHeaders(BODY))).toEqual({ ok: true, scheme: 'standard-webhooks' });
  });

  it('accepts the seed’s x-hi-events-signature alone, leaving the timestamp check to the caller', () => {
    const headers = { 'x-hi-events-signature': signSeedSignature(BODY, SECRET) };
    expect(verify(raw(BODY), headers)).toEqual({ ok: true, scheme: 'seed' });
  });

  it('accepts either secret of a rotation list in both schemes', () => {
    expect(verify(raw(BODY), standardHeaders(BODY, { secret: OLD_SECRET })).ok).toBe(true);
    expect(verify(raw(BODY), { 'x-hi-events-signature': signSeedSignature(BODY, OLD_SECRET) }).ok).toBe(true);
  });

  it('accepts a Standard Webhooks signature list in which one entry is valid', () => {
    const headers = standardHeaders(BODY);
    headers['webhook-signature'] =
      `v1,${Buffer.alloc(32).toString('base64')} ${headers['webhook-signature']}`;
    expect(verify(raw(BODY), headers).ok).toBe(true);
  });

  it('accepts a delivery when one scheme holds though the other does not', () => {
    const headers = {
      ...standardHeaders(BODY, { secret: 'another-secret' }),
      'x-hi-events-signature': signSeedSignature(BODY, SECRET),
    };
    expect(verify(raw(BODY), headers)).toEqual({ ok: true, scheme: 'seed' });
  });

  it('refuses a tampered body in both schemes', () => {
    const tampered = BODY.replace('active', 'inactive');
    const headers = { ...standardHeaders(BODY), 'x-hi-events-signature': signSeedSignature(BODY, SECRET) };
    const result = verify(raw(tampered), headers);
    expect(result).toMatchObject({ ok: false, reason: 'invalid_signature' });
    expect(result.ok || result.message).toMatch(/webhook-signature.*x-hi-events-signature/);
  });

  it('refuses a body signed with a secret that is not accepted', () => {
    expect(verify(raw(BODY), standardHeaders(BODY, { secret: 'not-our-secret' }))).toMatchObject({
      ok: false,
      reason: 'invalid_signature',
    });
    expect(
      verify(raw(BODY), { 'x-hi-events-signature': signSeedSignature(BODY, 'not-our-secret') }),
    ).toMatchObject({
      ok: false,
      reason: 'invalid_signature',
    });
  });

  it('refuses a Standard Webhooks timestamp more than five minutes old or ahead', () => {
    const old = standardHeaders(BODY, { at: new Date(clock().getTime() - 5 * MINUTE_MS - 1_000) });
    const ahead = standardHeaders(BODY, { at: new Date(clock().getTime() + 5 * MINUTE_MS + 1_000) });
    expect(verify(raw(BODY), old)).toMatchObject({ ok: false, reason: 'stale_timestamp' });
    expect(verify(raw(BODY), ahead)).toMatchObject({ ok: false, reason: 'stale_timestamp' });
  });

  it('judges the timestamp by the injected clock', () => {
    const later = createManualClock(new Date(clock().getTime() + 6 * MINUTE_MS));
    const verifyLater = createWebhookVerifier([SECRET], later.clock);
    expect(verifyLater(raw(BODY), standardHeaders(BODY))).toMatchObject({
      ok: false,
      reason: 'stale_timestamp',
    });
  });

  it('refuses a request without any signature, naming the headers to send', () => {
    const result = verify(raw(BODY), {});
    expect(result).toMatchObject({ ok: false, reason: 'missing_signature' });
    expect(result.ok || result.message).toContain('x-hi-events-signature');
  });

  it('names the Standard Webhooks headers that are missing', () => {
    const { 'webhook-timestamp': _, ...headers } = standardHeaders(BODY);
    expect(verify(raw(BODY), headers)).toMatchObject({
      ok: false,
      reason: 'missing_signature',
      message: 'Standard Webhooks headers missing: webhook-timestamp',
    });
  });

  it('refuses a timestamp that is not whole seconds, and a header sent twice', () => {
    expect(verify(raw(BODY), { ...standardHeaders(BODY), 'webhook-timestamp': '1e9' })).toMatchObject({
      ok: false,
      reason: 'invalid_signature',
    });
    const seed = signSeedSignature(BODY, SECRET);
    expect(verify(raw(BODY), { 'x-hi-events-signature': [seed, seed] })).toMatchObject({
      ok: false,
      reason: 'missing_signature',
    });
  });
});
