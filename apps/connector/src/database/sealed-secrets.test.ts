import { describe, expect, it } from 'vitest';
import { openSecret, sealSecret } from './sealed-secrets.ts';

const OLD = 'old-encryption-key-0123456789abcdef0123';
const NEW = 'new-encryption-key-0123456789abcdef0123';
const SECRET = '5f2b8c0e9d7a4b1c3e6f8a9b0c1d2e3f';

describe('secrets sealed at rest', () => {
  it('opens what it sealed, and never shows the secret in what it stores', () => {
    const sealed = sealSecret([NEW], SECRET);
    expect(sealed).toMatch(/^v1\.[\w-]+\.[\w-]+$/);
    expect(sealed).not.toContain(SECRET);
    expect(sealSecret([NEW], SECRET)).not.toBe(sealed);
    expect(openSecret([NEW], sealed)).toBe(SECRET);
  });

  it('opens with any configured key while one replaces another, and seals with the first', () => {
    const sealedBefore = sealSecret([OLD], SECRET);
    expect(openSecret([NEW, OLD], sealedBefore)).toBe(SECRET);
    expect(openSecret([NEW], sealSecret([NEW, OLD], SECRET))).toBe(SECRET);
    expect(openSecret([OLD], sealSecret([NEW, OLD], SECRET))).toBeUndefined();
  });

  it('opens nothing with a wrong key or after the stored value was altered', () => {
    const sealed = sealSecret([NEW], SECRET);
    expect(openSecret([OLD], sealed)).toBeUndefined();
    const [version, iv, body] = sealed.split('.');
    const flipped = Buffer.from(body!, 'base64url');
    flipped[0]! ^= 1;
    expect(openSecret([NEW], `${version}.${iv}.${flipped.toString('base64url')}`)).toBeUndefined();
    expect(openSecret([NEW], `${version}.${iv}.`)).toBeUndefined();
  });

  it('answers a value stored before sealing as it is', () => {
    expect(openSecret([NEW], SECRET)).toBe(SECRET);
  });
});
