/**
 * A same-site path to go to after signing in, or '/'. Anything that could leave the site
 * (`//evil.example`, `/\evil.example`, `https://…`) falls back to '/'.
 */
export function safeRedirectPath(candidate: string | null | undefined): string {
  if (!candidate?.startsWith('/') || candidate.startsWith('//') || candidate.startsWith('/\\')) {
    return '/';
  }
  const url = new URL(candidate, 'http://tuvens.invalid');
  return url.origin === 'http://tuvens.invalid' ? `${url.pathname}${url.search}` : '/';
}
