import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { safeRedirectPath } from './redirects.ts';

const BASE = 'http://tuvens.invalid';

describe('where to go after signing in', () => {
  it('keeps paths on this site', () => {
    expect(safeRedirectPath('/event/1?tab=tickets')).toBe('/event/1?tab=tickets');
    expect(safeRedirectPath('/a/../event/2')).toBe('/event/2');
    expect(safeRedirectPath(null)).toBe('/');
  });

  it('never leaves the site', () => {
    for (const away of [
      'https://attacker.example',
      '//attacker.example',
      '/\\attacker.example',
      '/\t/attacker.example',
      '/..//evil.example',
      '/../..//evil.example/path',
      '/.//evil.example',
      '/%2e%2e//evil.example',
      '/./\\evil.example',
    ]) {
      expect(safeRedirectPath(away), away).toBe('/');
    }
  });

  it('answers, for any input, a path that a browser resolves to this site', () => {
    const pieces = fc.constantFrom(
      '/',
      '//',
      '\\',
      '..',
      '.',
      '%2e',
      '%2F',
      'evil.example',
      '?',
      '#',
      '\t',
      ':',
      '@',
    );
    const crafted = fc.array(pieces, { maxLength: 8 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          crafted,
          crafted.map((path) => `/${path}`),
        ),
        (candidate) => {
          const path = safeRedirectPath(candidate);
          expect(path.startsWith('/')).toBe(true);
          expect(path.startsWith('//')).toBe(false);
          expect(path.startsWith('/\\')).toBe(false);
          // As a Location header would be read relative to this site.
          expect(new URL(path, BASE).origin).toBe(BASE);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
