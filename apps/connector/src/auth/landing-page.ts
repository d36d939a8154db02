import { createHash } from 'node:crypto';
import type { ConnectorConfig } from '../config.ts';
import { CrossAppAuthService } from './browser/CrossAppAuthService.ts';
import { startTuvensSignIn } from './browser/tuvensAuth.ts';
import { SIGN_IN_MESSAGES } from './SecureCrossAppAuthService.ts';

/** Failures the page itself meets before the connector answers, or that the connector answers outside sign-in. */
const PAGE_MESSAGES = {
  connector_unreachable:
    'We could not reach the ticketing service. Check your connection, then go back to Tuvens and try again.',
  rate_limited:
    'Too many sign-in attempts from here. Please wait a minute, then go back to Tuvens and try again.',
  validation_failed: SIGN_IN_MESSAGES.link_invalid,
  origin_not_allowed: SIGN_IN_MESSAGES.unavailable,
};

const STYLE = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.5; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: Canvas; color: CanvasText; }
main { max-width: 32rem; padding: 1.5rem; }
h1 { font-size: 1.4rem; margin: 0 0 0.5rem; }
h1:focus { outline: none; }
.failed #status { border-left: 4px solid #b3261e; padding-left: 0.75rem; }
a { font-weight: 600; }
button { font: inherit; font-weight: 600; padding: 0.5rem 1rem; cursor: pointer; }
#confirm-replaces { font-weight: 600; }
`;

export interface LandingPage {
  html: string;
  /** The page's Content-Security-Policy: its one script and one style by hash, and nothing else. */
  csp: string;
}

/**
 * The `/auth/cross-app` page, built once. It is self-contained, so a strict CSP can pin its only
 * script and style by hash: the script is the browser code of `browser/`, serialized from the
 * functions themselves (Node strips their types; Vitest transpiles them), so the served text is
 * exactly what is type-checked.
 */
export function buildLandingPage(config: ConnectorConfig): LandingPage {
  const script = `(() => {
${CrossAppAuthService.toString()}
(${startTuvensSignIn.toString()})(CrossAppAuthService, document, window);
})();`;
  const messages = { ...SIGN_IN_MESSAGES, ...PAGE_MESSAGES };
  const tuvensUrl = config.tuvens.webUrl;
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Opening ticketing · Tuvens</title>
<style>${STYLE}</style>
</head>
<body>
<main id="sign-in" data-endpoint="/auth/cross-app/validate" data-tuvens-url="${escapeAttribute(tuvensUrl)}" data-hi-events-origin="${escapeAttribute(new URL(config.hiEvents.url).origin)}" data-messages="${escapeAttribute(JSON.stringify(messages))}">
<h1 id="title" tabindex="-1">Opening ticketing…</h1>
<p id="status" role="status" aria-live="polite">Checking your sign-in with Tuvens…</p>
<div id="confirm" hidden>
<p id="confirm-replaces" hidden>This browser is signed in to Hi.Events as someone else now. Continuing signs them out here.</p>
<p><button id="confirm-button" type="button">Continue</button></p>
</div>
<noscript><p>This page needs JavaScript to sign you in.</p></noscript>
<p><a id="back-to-tuvens" href="${escapeAttribute(tuvensUrl)}">Back to Tuvens</a></p>
</main>
<script>${script}</script>
</body>
</html>
`;
  const csp = [
    "default-src 'none'",
    `script-src ${hashSource(script)}`,
    `style-src ${hashSource(STYLE)}`,
    "connect-src 'self'",
    "img-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join('; ');
  return { html, csp };
}

function hashSource(content: string): string {
  return `'sha256-${createHash('sha256').update(content).digest('base64')}'`;
}

function escapeAttribute(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('"', '&quot;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;');
}
