/**
 * Cross-site request forgery protection for every state-changing request, forms and JSON alike,
 * after Go's `net/http.CrossOriginProtection`: trust the browser's `Sec-Fetch-Site`, else compare the
 * `Origin` host with this site's host. The scheme is not compared because adapter-node cannot know it
 * without a proxy header (it assumes https), while the host it always knows (`Host`, or `HOST_HEADER`).
 */

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}

/** Whether a request that changes state comes from another site. */
export function isCrossSiteWrite(request: Request, url: URL): boolean {
  if (SAFE_METHODS.has(request.method)) return false;
  const fetchSite = request.headers.get('sec-fetch-site');
  if (fetchSite !== null) return fetchSite !== 'same-origin' && fetchSite !== 'none';
  const origin = request.headers.get('origin');
  // Browsers always send Origin with cross-site POSTs; a request without one is not from another site's page.
  if (origin === null) return false;
  return hostOf(origin) !== url.host;
}

/** Stricter, for script-only routes: the request must be a same-origin fetch from one of this site's pages. */
export function isSameOriginFetch(request: Request, url: URL): boolean {
  const fetchSite = request.headers.get('sec-fetch-site');
  if (fetchSite !== null && fetchSite !== 'same-origin') return false;
  const origin = request.headers.get('origin');
  return origin !== null && hostOf(origin) === url.host;
}
