import { defineEnvVars } from '@sveltejs/kit/env';

/**
 * Every environment variable of the web app, with its development default. They are read when the
 * server starts (not at build time), so one build runs anywhere; a bad value stops start-up with a
 * message naming the variable. Only `#lib/config.ts` and `#lib/server/config.ts` import them.
 */

/** An absolute http(s) URL without a trailing slash; `fallback` when unset or empty. */
function httpUrl(fallback: string | undefined) {
  return (value: string | undefined): string | undefined => {
    const raw = value?.trim() || fallback;
    if (raw === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new Error(`must be an absolute URL such as ${fallback ?? 'https://example.com'}, not "${raw}"`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new Error('must be an http or https URL');
    return url.href.replace(/\/+$/, '');
  };
}

function flag(value: string | undefined): boolean | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^(true|1)$/i.test(value.trim())) return true;
  if (/^(false|0)$/i.test(value.trim())) return false;
  throw new Error('must be true or false');
}

function positiveInteger(fallback: number) {
  return (value: string | undefined): number => {
    if (value === undefined || value.trim() === '') return fallback;
    if (!/^[1-9][0-9]{0,8}$/.test(value.trim())) throw new Error('must be a whole number above 0');
    return Number(value);
  };
}

/** A whole number of 0 or more; `fallback` when unset or empty. */
function wholeNumber(fallback: number) {
  return (value: string | undefined): number => {
    if (value === undefined || value.trim() === '') return fallback;
    if (!/^(0|[1-9][0-9]{0,8})$/.test(value.trim())) throw new Error('must be a whole number, 0 or more');
    return Number(value);
  };
}

export const variables = defineEnvVars({
  NODE_ENV: {
    schema: (value) => value?.trim() || 'development',
    description: 'production turns on production checks: no development secret, HSTS.',
  },
  PUBLIC_API_BASE_URL: {
    public: true,
    schema: httpUrl('http://localhost:4000'),
    description: 'tuvens-api as browsers reach it; the live updates stream connects here directly.',
  },
  PUBLIC_HI_EVENTS_URL: {
    public: true,
    schema: httpUrl('http://localhost:4200'),
    description:
      'The public Hi.Events site: origin of the ticket widget and of the resize messages honoured.',
  },
  PUBLIC_CROSS_APP_URL: {
    public: true,
    schema: httpUrl('http://localhost:4100'),
    description:
      'Where `/auth/cross-app` lives (the connector); often the Hi.Events domain behind one proxy.',
  },
  API_INTERNAL_URL: {
    schema: httpUrl(undefined),
    description: 'tuvens-api as this server reaches it, when that differs from PUBLIC_API_BASE_URL.',
  },
  CROSS_APP_INTERNAL_URL: {
    schema: httpUrl(undefined),
    description: 'The connector as this server reaches it, when that differs from PUBLIC_CROSS_APP_URL.',
  },
  WEB_API_SECRET: {
    schema: (value) => value?.trim() || undefined,
    description:
      'Sent to tuvens-api as x-tuvens-web-secret, vouching for the browser address it forwards (docs/contract.md#client-address).',
  },
  RELAY_MAX_STREAMS: {
    schema: positiveInteger(2_000),
    description: 'Live update streams this server relays at once; beyond it a new one is a 503.',
  },
  RELAY_MAX_STREAMS_PER_CLIENT: {
    schema: positiveInteger(10),
    description: 'Live update streams relayed for one browser address; beyond it a new one is a 429.',
  },
  PAGE_CACHE_MAX_AGE_MS: {
    schema: wholeNumber(5_000),
    description:
      "Longest an anonymous visitor's event page is served again without drawing it anew; a change to the event drops it at once (0: never kept).",
  },
  DEMO_LOGINS: {
    schema: flag,
    description:
      'Show the demo logins on the sign-in page: only where tuvens-api has its demo data (npm start sets it).',
  },
});
