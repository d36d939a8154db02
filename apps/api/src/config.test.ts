import { ConfigError } from '@tuvens/server';
import { describe, expect, it } from 'vitest';
import { DEVELOPMENT_SECRETS, loadConfig } from './config.ts';

const strong = (label: string) => `${label}-${'s'.repeat(40)}`;

describe('configuration', () => {
  it('falls back to the documented development secrets outside production, and says which', () => {
    const config = loadConfig({});
    expect(config.crossApp.sharedSecrets).toEqual([DEVELOPMENT_SECRETS.CROSS_APP_SHARED_SECRET]);
    expect(config.hiEvents.webhookSecrets).toEqual([DEVELOPMENT_SECRETS.HI_EVENTS_SHARED_SECRET]);
    expect(config.developmentSecrets).toEqual([
      'JWT_SECRET',
      'CROSS_APP_SHARED_SECRET',
      'HI_EVENTS_SHARED_SECRET',
      'WEB_API_SECRET',
    ]);
    expect(config.crossApp.sessionExpirySeconds).toBe(900);
    expect(config.port).toBe(4000);
    expect(config.demoData).toBe(true);
  });

  it('refuses to start in production without a secret, naming the variable', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(
      new ConfigError('JWT_SECRET must be set in production'),
    );
    expect(() =>
      loadConfig({ NODE_ENV: 'production', JWT_SECRET: strong('jwt'), CROSS_APP_SHARED_SECRET: strong('x') }),
    ).toThrow(/HI_EVENTS_SHARED_SECRET/);
  });

  it('reads the secrets and turns demo data off in production', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      JWT_SECRET: strong('jwt'),
      CROSS_APP_SHARED_SECRET: strong('x'),
      HI_EVENTS_SHARED_SECRET: strong('hook'),
      WEB_API_SECRET: strong('web'),
      HI_EVENTS_PUBLIC_URL: 'https://tickets.example.com',
    });
    expect(config.hiEvents.publicOrigins).toEqual(['https://tickets.example.com']);
    expect(config.web.apiSecrets).toEqual([strong('web')]);
    expect(config.crossApp.sharedSecrets).toEqual([strong('x')]);
    expect(config.hiEvents.webhookSecrets).toEqual([strong('hook')]);
    expect(config.demoData).toBe(false);
    expect(config.developmentSecrets).toEqual([]);
    expect(Object.isFrozen(config.crossApp)).toBe(true);
  });

  it('refuses the published development secrets in production, so a token signed with them cannot pass', () => {
    const production = {
      NODE_ENV: 'production',
      JWT_SECRET: strong('jwt'),
      CROSS_APP_SHARED_SECRET: strong('x'),
      HI_EVENTS_SHARED_SECRET: strong('hook'),
      WEB_API_SECRET: strong('web'),
      HI_EVENTS_PUBLIC_URL: 'https://tickets.example.com',
    };
    for (const name of Object.keys(DEVELOPMENT_SECRETS) as (keyof typeof DEVELOPMENT_SECRETS)[]) {
      expect(() => loadConfig({ ...production, [name]: DEVELOPMENT_SECRETS[name] })).toThrow(
        new ConfigError(`${name} is a published development value; production needs its own secret`),
      );
    }
  });

  it('names a malformed variable', () => {
    expect(() => loadConfig({ API_PORT: 'eighty' })).toThrow(/^API_PORT: /);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/^DATABASE_URL: /);
    expect(() => loadConfig({ DATABASE_PREPARED_STATEMENTS: 'no' })).toThrow(
      /^DATABASE_PREPARED_STATEMENTS: /,
    );
  });

  it('prepares statements unless told not to, for poolers that cannot keep them', () => {
    expect(loadConfig({}).database.preparedStatements).toBe(true);
    expect(loadConfig({ DATABASE_PREPARED_STATEMENTS: 'false' }).database.preparedStatements).toBe(false);
  });
});
