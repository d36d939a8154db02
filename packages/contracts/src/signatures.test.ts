import { describe, expect, it } from 'vitest';
import {
  matchesAnySecret,
  safeEqual,
  signHiEventsSignature,
  signSeedSignature,
  verifyHiEventsSignature,
  verifySeedSignature,
} from './signatures.ts';

describe('shared secrets and signatures', () => {
  it('compares strings of any lengths without throwing', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual('', 'x')).toBe(false);
  });

  it('matches a presented secret against every secret of a rotation list', () => {
    expect(matchesAnySecret('old', ['new', 'old'])).toBe(true);
    expect(matchesAnySecret('other', ['new', 'old'])).toBe(false);
    expect(matchesAnySecret(undefined, ['new'])).toBe(false);
  });

  it('verifies the seed signature over the exact bytes, with any secret of the list', () => {
    const body = '{"id":"whmsg_1"}';
    const header = signSeedSignature(body, 'old');
    expect(header).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifySeedSignature(body, header, ['new', 'old'])).toBe(true);
    expect(verifySeedSignature(`${body} `, header, ['old'])).toBe(false);
    expect(verifySeedSignature(body, header.slice('sha256='.length), ['old'])).toBe(false);
    expect(verifySeedSignature(body, undefined, ['old'])).toBe(false);
  });

  it('verifies Hi.Events’ own signature: bare lowercase hex of the raw body', () => {
    const body = '{"event_type":"event.updated"}';
    const signature = signHiEventsSignature(body, 'per-webhook-secret');
    expect(signature).toMatch(/^[0-9a-f]{64}$/);
    expect(verifyHiEventsSignature(body, signature, 'per-webhook-secret')).toBe(true);
    expect(verifyHiEventsSignature(body, signature, 'another-secret')).toBe(false);
  });
});
