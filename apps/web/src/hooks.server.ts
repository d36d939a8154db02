import { type Handle, sequence } from '@sveltejs/kit/hooks';
import { ChangeStream } from '#lib/server/change-stream.ts';
import { serverConfig } from '#lib/server/config.ts';
import { PageCache } from '#lib/server/page-cache.ts';
import { isCrossSiteWrite } from '#lib/server/same-origin.ts';
import { endSession, readSessionToken } from '#lib/server/session.ts';
import { fetchViewer } from '#lib/server/tuvens-api.ts';

/** State-changing requests from other sites are refused before anything else runs. */
const refuseCrossSiteWrites: Handle = async ({ event, resolve }) => {
  if (isCrossSiteWrite(event.request, event.url)) {
    const body = {
      error: { code: 'cross_site', message: 'Requests that change something must come from this site' },
    };
    return Response.json(body, { status: 403 });
  }
  return resolve(event);
};

/** Who is asking: the session cookie's JWT and the person it stands for; an expired one is dropped. */
const authenticate: Handle = async ({ event, resolve }) => {
  event.locals.token = readSessionToken(event.cookies);
  event.locals.viewer = undefined;
  if (event.locals.token) {
    const viewer = await fetchViewer(event.locals.token);
    if (viewer.ok) {
      event.locals.viewer = viewer.data;
    } else if (viewer.status === 401) {
      endSession(event.cookies, event.url);
      event.locals.token = undefined;
    }
  }
  return resolve(event);
};

const pageCache = new PageCache({ maxAgeMs: serverConfig.pageCacheMaxAgeMs, maxEntries: 1_000 });
let changeStream: ChangeStream | undefined;

/**
 * An anonymous visitor's event page is drawn once and served again until its event changes, as
 * tuvens-api's change stream tells (#lib/server/page-cache.ts says what makes that safe). Keyed by
 * the site's origin too, as the page's canonical URL comes from it. What the visitor sends besides
 * the path (a query, a session cookie, a method other than GET) gets a page drawn for them.
 */
const serveAnonymousEventPages: Handle = async ({ event, resolve }) => {
  if (
    serverConfig.pageCacheMaxAgeMs === 0 ||
    event.route.id !== '/event/[id]' ||
    event.request.method !== 'GET' ||
    event.isDataRequest ||
    event.url.search !== '' ||
    readSessionToken(event.cookies) !== undefined
  ) {
    return resolve(event);
  }
  if (!changeStream) {
    changeStream = new ChangeStream({ apiUrl: serverConfig.apiInternalUrl, listener: pageCache });
    changeStream.start();
    process.once('sveltekit:shutdown', () => changeStream?.stop());
  }
  const eventId = Number(event.params.id);
  if (!Number.isSafeInteger(eventId)) return resolve(event);
  return pageCache.serve(`${event.url.origin}${event.url.pathname}`, eventId, () => resolve(event));
};

const origin = (url: string) => new URL(url).origin;
const RUNTIME_CSP = [
  `connect-src 'self' ${origin(serverConfig.apiBaseUrl)}`,
  `frame-src ${origin(serverConfig.hiEventsUrl)}`,
  // Without JavaScript, enabling ticketing is a form post answered by a redirect to the connector.
  `form-action 'self' ${origin(serverConfig.crossAppUrl)}`,
].join('; ');

/** Security headers; the CSP names the run-time origins that the build-time policy cannot know. */
const secureHeaders: Handle = async ({ event, resolve }) => {
  const response = await resolve(event);
  const csp = response.headers.get('content-security-policy');
  if (csp) response.headers.set('content-security-policy', `${csp}; ${RUNTIME_CSP}`);
  response.headers.set('x-content-type-options', 'nosniff');
  response.headers.set('referrer-policy', 'strict-origin-when-cross-origin');
  response.headers.set('x-frame-options', 'DENY');
  response.headers.set('permissions-policy', 'camera=(), microphone=(), geolocation=()');
  // Production is served over TLS only; browsers keep to it for a year, on every subdomain too.
  if (serverConfig.production) {
    response.headers.set('strict-transport-security', 'max-age=31536000; includeSubDomains');
  }
  if (event.locals.token && !response.headers.has('cache-control')) {
    response.headers.set('cache-control', 'private, no-cache');
  }
  return response;
};

// A kept page is served first, as it was drawn: with the security headers, for no viewer, to a GET.
export const handle = sequence(serveAnonymousEventPages, refuseCrossSiteWrites, authenticate, secureHeaders);
