const BASE = 'http://tuvens.invalid';

/**
 * A same-site path to go to after signing in, or '/'. Anything that could leave the site
 * (`//evil.example`, `/\evil.example`, `https://…`, or `/..//evil.example`, which resolves to
 * `//evil.example`) falls back to '/'. The path is judged after the URL parser has resolved it,
 * because that resolved form is what a browser would follow.
 */
export function safeRedirectPath(candidate: string | null | undefined): string {
  if (!candidate?.startsWith('/') || candidate.startsWith('//') || candidate.startsWith('/\\')) {
    return '/';
  }
  let url: URL;
  try {
    url = new URL(candidate, BASE);
  } catch {
    return '/';
  }
  const path = `${url.pathname}${url.search}`;
  if (url.origin !== BASE || !path.startsWith('/') || path.startsWith('//')) return '/';
  return path;
}
