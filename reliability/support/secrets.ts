/** Fresh secrets per test, and finding them where they must not be. */

import { randomBytes } from 'node:crypto';

export interface Secrets {
  crossApp: string;
  webhook: string;
  jwt: string;
  hiEventsJwt: string;
}

/** Fresh secrets for one test, so that finding one in an answer or a log is unambiguous. */
export function generateSecrets(): Secrets {
  const secret = (label: string) => `${label}-${randomBytes(24).toString('hex')}`;
  return {
    crossApp: secret('rel-cross-app'),
    webhook: secret('rel-webhook'),
    jwt: secret('rel-jwt'),
    hiEventsJwt: secret('rel-hi-events-jwt'),
  };
}

/** The forms in which a secret could leak: as it is, base64 and hex encoded. */
export function secretForms(secrets: readonly string[]): string[] {
  return secrets.flatMap((secret) => [
    secret,
    Buffer.from(secret).toString('base64'),
    Buffer.from(secret).toString('base64url'),
    Buffer.from(secret).toString('hex'),
  ]);
}

/** The secrets found in a text, by name. */
export function findSecrets(text: string, secrets: Record<string, string>): string[] {
  return Object.entries(secrets)
    .filter(([, secret]) => secretForms([secret]).some((form) => text.includes(form)))
    .map(([name]) => name);
}
