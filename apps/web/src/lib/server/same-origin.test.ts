import { describe, expect, it } from 'vitest';
import { isCrossSiteWrite, isSameOriginFetch } from './same-origin.ts';

const SITE = new URL('https://tuvens.example/event/1');

function request(method: string, headers: Record<string, string>) {
  return new Request(SITE, { method, headers });
}

describe('cross-site request protection', () => {
  it('lets reads through from anywhere', () => {
    expect(isCrossSiteWrite(request('GET', { 'sec-fetch-site': 'cross-site' }), SITE)).toBe(false);
  });

  it('refuses a form posted from another site', () => {
    expect(isCrossSiteWrite(request('POST', { 'sec-fetch-site': 'cross-site' }), SITE)).toBe(true);
    expect(isCrossSiteWrite(request('POST', { origin: 'https://attacker.example' }), SITE)).toBe(true);
    expect(isCrossSiteWrite(request('POST', { origin: 'null' }), SITE)).toBe(true);
  });

  it('accepts a form posted from this site, whatever scheme the server believes it runs on', () => {
    expect(isCrossSiteWrite(request('POST', { 'sec-fetch-site': 'same-origin' }), SITE)).toBe(false);
    expect(isCrossSiteWrite(request('POST', { origin: 'http://tuvens.example' }), SITE)).toBe(false);
  });

  it('the session route takes only same-origin fetches that say where they come from', () => {
    const fetchFrom = (origin: string | undefined, site = 'same-origin') =>
      request('POST', { 'sec-fetch-site': site, ...(origin ? { origin } : {}) });
    expect(isSameOriginFetch(fetchFrom('https://tuvens.example'), SITE)).toBe(true);
    expect(isSameOriginFetch(fetchFrom(undefined), SITE)).toBe(false);
    expect(isSameOriginFetch(fetchFrom('https://tuvens.example', 'same-site'), SITE)).toBe(false);
  });
});
