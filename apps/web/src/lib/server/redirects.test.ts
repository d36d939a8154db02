import { describe, expect, it } from 'vitest';
import { safeRedirectPath } from './redirects.ts';

describe('where to go after signing in', () => {
  it('keeps paths on this site', () => {
    expect(safeRedirectPath('/event/1?tab=tickets')).toBe('/event/1?tab=tickets');
    expect(safeRedirectPath(null)).toBe('/');
  });

  it('never leaves the site', () => {
    for (const away of [
      'https://attacker.example',
      '//attacker.example',
      '/\\attacker.example',
      '/\t/attacker.example',
    ]) {
      expect(safeRedirectPath(away), away).toBe('/');
    }
  });
});
