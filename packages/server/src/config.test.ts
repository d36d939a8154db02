import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, deepFreeze, parseEnvironment, readSecrets, trustProxySetting } from './config.ts';

const DEVELOPMENT_VALUES = { FIRST_SECRET: 'dev-first', SECOND_SECRET: 'dev-second' };
const strong = (label: string) => `${label}-${'s'.repeat(40)}`;

describe('reading secrets', () => {
  it('falls back to the development values outside production, and says which, in the order given', () => {
    const { secrets, developmentSecrets } = readSecrets(
      { SECOND_SECRET: 'second' },
      { production: false, developmentValues: DEVELOPMENT_VALUES },
    );
    expect(secrets).toEqual({ FIRST_SECRET: ['dev-first'], SECOND_SECRET: ['second'] });
    expect(developmentSecrets).toEqual(['FIRST_SECRET']);
  });

  it('accepts a comma-separated list of secrets while one is being rotated; the first is the one used', () => {
    const { secrets } = readSecrets(
      { FIRST_SECRET: ' new-secret, old-secret ,', SECOND_SECRET: 'only' },
      { production: false, developmentValues: DEVELOPMENT_VALUES },
    );
    expect(secrets.FIRST_SECRET).toEqual(['new-secret', 'old-secret']);
  });

  it('reads a rotation list in production, with no development secrets', () => {
    const { secrets, developmentSecrets } = readSecrets(
      { FIRST_SECRET: `${strong('new')}, ${strong('old')}`, SECOND_SECRET: strong('second') },
      { production: true, developmentValues: DEVELOPMENT_VALUES },
    );
    expect(secrets.FIRST_SECRET).toEqual([strong('new'), strong('old')]);
    expect(developmentSecrets).toEqual([]);
  });

  it('refuses to start in production without a secret, naming the first one missing', () => {
    const production = { production: true, developmentValues: DEVELOPMENT_VALUES };
    expect(() => readSecrets({}, production)).toThrow(
      new ConfigError('FIRST_SECRET must be set in production'),
    );
    expect(() => readSecrets({ FIRST_SECRET: strong('first'), SECOND_SECRET: ' , ' }, production)).toThrow(
      new ConfigError('SECOND_SECRET must be set in production'),
    );
  });

  it('refuses a secret shorter than 32 bytes in production, also inside a rotation list', () => {
    const production = { production: true, developmentValues: DEVELOPMENT_VALUES };
    expect(() => readSecrets({ FIRST_SECRET: 'short', SECOND_SECRET: strong('second') }, production)).toThrow(
      new ConfigError('FIRST_SECRET must be at least 32 bytes in production'),
    );
    expect(() =>
      readSecrets({ FIRST_SECRET: strong('first'), SECOND_SECRET: `${strong('new')},short` }, production),
    ).toThrow(new ConfigError('SECOND_SECRET must be at least 32 bytes in production'));
    // Bytes, not characters: 16 two-byte characters are enough.
    expect(() =>
      readSecrets({ FIRST_SECRET: 'é'.repeat(16), SECOND_SECRET: strong('second') }, production),
    ).not.toThrow();
  });
});

describe('parsing the environment', () => {
  const Environment = z.object({ PORT: z.coerce.number().int().default(80), NAME: z.string().min(1) });

  it('returns the parsed variables', () => {
    expect(parseEnvironment(Environment, { NAME: 'tuvens', UNRELATED: 'x' })).toEqual({
      PORT: 80,
      NAME: 'tuvens',
    });
  });

  it('names the first variable that is malformed', () => {
    expect(() => parseEnvironment(Environment, { PORT: 'eighty', NAME: 'tuvens' })).toThrow(/^PORT: /);
    expect(() => parseEnvironment(Environment, {})).toThrow(ConfigError);
    expect(() => parseEnvironment(Environment, {})).toThrow(/^NAME: /);
  });
});

describe('freezing a config', () => {
  it('freezes every level but leaves keys’ bytes alone', () => {
    const config = deepFreeze({ nested: { list: ['a'] }, key: new Uint8Array([1]) });
    expect(Object.isFrozen(config.nested)).toBe(true);
    expect(Object.isFrozen(config.nested.list)).toBe(true);
    expect(Object.isFrozen(config.key)).toBe(false);
  });
});

describe('TRUST_PROXY', () => {
  const read = (value: string) =>
    parseEnvironment(z.object({ TRUST_PROXY: trustProxySetting }), { TRUST_PROXY: value });

  it('takes a hop count, or proxy addresses and ranges, and false', () => {
    expect(read('false').TRUST_PROXY).toBe(false);
    expect(read('1').TRUST_PROXY).toBe(1);
    expect(read('10.0.0.5, 10.1.0.0/16,loopback').TRUST_PROXY).toEqual([
      '10.0.0.5',
      '10.1.0.0/16',
      'loopback',
    ]);
  });

  it('refuses true, which would believe any X-Forwarded-For a client writes, and names anything else wrong', () => {
    expect(() => read('true')).toThrow(/^TRUST_PROXY: true would believe/);
    expect(() => read('proxy.internal')).toThrow(/^TRUST_PROXY: "proxy.internal" is not/);
  });
});

describe('published development secrets', () => {
  it('production refuses a secret set to a published development value, its own or another service’s', () => {
    const published = 'dev-first-secret-published-in-the-repository-0123';
    expect(() =>
      readSecrets(
        { FIRST_SECRET: published, SECOND_SECRET: strong('second') },
        { production: true, developmentValues: { ...DEVELOPMENT_VALUES, FIRST_SECRET: published } },
      ),
    ).toThrow(
      new ConfigError('FIRST_SECRET is a published development value; production needs its own secret'),
    );
    expect(() =>
      readSecrets(
        { FIRST_SECRET: strong('first'), SECOND_SECRET: published },
        { production: true, developmentValues: DEVELOPMENT_VALUES, publishedValues: [published] },
      ),
    ).toThrow(/^SECOND_SECRET is a published development value/);
  });
});
