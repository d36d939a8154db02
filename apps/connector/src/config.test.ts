import { ConfigError } from '@tuvens/server';
import { describe, expect, it } from 'vitest';
import { DEVELOPMENT_SECRETS, loadConfig } from './config.ts';

const strong = (name: string) => `${name.toLowerCase()}-${'x'.repeat(40)}`;
const production = {
  NODE_ENV: 'production',
  CONNECTOR_PUBLIC_URL: 'https://tickets.example.com',
  HI_EVENTS_URL: 'https://tickets.example.com',
  CROSS_APP_SHARED_SECRET: strong('cross'),
  HI_EVENTS_SHARED_SECRET: strong('webhook'),
  HI_EVENTS_JWT_SECRET: strong('jwt'),
  CONNECTOR_ENCRYPTION_KEY: strong('sealing'),
  CONNECTOR_OPS_TOKEN: strong('ops'),
};

describe('the connector’s configuration', () => {
  it('runs on documented development defaults, and says which secrets fell back', () => {
    const config = loadConfig({});
    expect(config.port).toBe(4100);
    expect(config.publicUrl).toBe('http://localhost:4100');
    expect(config.tuvens.apiUrl).toBe('http://localhost:4000');
    expect(config.tuvens.webUrl).toBe('http://localhost:3000');
    expect(config.hiEvents.url).toBe('http://localhost:4200');
    expect(config.hiEvents.apiUrl).toBe('http://localhost:4200/api');
    expect(config.tuvens.sharedSecrets).toEqual([DEVELOPMENT_SECRETS.CROSS_APP_SHARED_SECRET]);
    expect(config.tuvens.webhookSecrets).toEqual([DEVELOPMENT_SECRETS.HI_EVENTS_SHARED_SECRET]);
    expect(config.developmentSecrets).toEqual([
      'CROSS_APP_SHARED_SECRET',
      'HI_EVENTS_SHARED_SECRET',
      'HI_EVENTS_JWT_SECRET',
      'CONNECTOR_ENCRYPTION_KEY',
      'CONNECTOR_OPS_TOKEN',
    ]);
    expect(config.encryptionKeys).toEqual([DEVELOPMENT_SECRETS.CONNECTOR_ENCRYPTION_KEY]);
    expect(config.secureCookies).toBe(false);
    expect(Object.isFrozen(config.tuvens)).toBe(true);
  });

  it('refuses to start in production without each secret, naming the variable', () => {
    expect(() => loadConfig(production)).not.toThrow();
    for (const name of [
      'CROSS_APP_SHARED_SECRET',
      'HI_EVENTS_SHARED_SECRET',
      'HI_EVENTS_JWT_SECRET',
      'CONNECTOR_ENCRYPTION_KEY',
    ] as const) {
      expect(() => loadConfig({ ...production, [name]: '' })).toThrow(
        new ConfigError(`${name} must be set in production`),
      );
    }
  });

  it('requires https and sets Secure cookies in production', () => {
    expect(loadConfig(production).secureCookies).toBe(true);
    expect(() => loadConfig({ ...production, CONNECTOR_PUBLIC_URL: 'http://tickets.example.com' })).toThrow(
      'CONNECTOR_PUBLIC_URL must be an https URL in production',
    );
  });

  it('names the variable that is malformed', () => {
    expect(() => loadConfig({ CONNECTOR_PORT: 'eighty' })).toThrow(/^CONNECTOR_PORT: /);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/^DATABASE_URL: /);
    expect(() => loadConfig({ HI_EVENTS_DEFAULT_CURRENCY: 'euro' })).toThrow(/^HI_EVENTS_DEFAULT_CURRENCY: /);
  });

  it('refuses the published development secrets in production', () => {
    for (const name of Object.keys(DEVELOPMENT_SECRETS) as (keyof typeof DEVELOPMENT_SECRETS)[]) {
      expect(() => loadConfig({ ...production, [name]: DEVELOPMENT_SECRETS[name] })).toThrow(
        new ConfigError(`${name} is a published development value; production needs its own secret`),
      );
    }
  });
});
