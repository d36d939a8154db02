import { createHash } from 'node:crypto';
import type { FastifyReply } from '../http/context.ts';

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** The CSP source that allows exactly one inline script or style. */
export function hashSource(content: string): string {
  return `'sha256-${createHash('sha256').update(content).digest('base64')}'`;
}

/**
 * Serializes a browser function written in TypeScript. Node strips the types from the source it runs
 * (and Vitest transpiles it), so the text V8 keeps is plain JavaScript; the function must not refer
 * to anything outside its own body.
 */
export function browserScript(fn: (...args: never[]) => void, ...args: string[]): string {
  return `(${fn.toString()})(${args.join(', ')});`;
}

const STYLE = `
:root { color-scheme: light; font-family: system-ui, sans-serif; line-height: 1.5; }
body { margin: 0; background: #f6f5fb; color: #1d1b24; }
header { background: #3b2a6e; color: #fff; padding: 0.75rem 1.25rem; }
header strong { letter-spacing: 0.02em; }
header .badge { background: #ffffff2e; color: #fff; }
main { max-width: 60rem; margin: 0 auto; padding: 1.25rem; }
section { background: #fff; border-radius: 0.5rem; padding: 1rem 1.25rem; margin-bottom: 1rem; box-shadow: 0 1px 2px #0002; }
h1 { font-size: 1.5rem; margin: 0.5rem 0; } h2 { font-size: 1.1rem; margin: 0 0 0.5rem; }
.badge { display: inline-block; padding: 0.1rem 0.5rem; border-radius: 1rem; background: #e7e2f7; font-size: 0.85rem; }
.notice { background: #e6f4ea; padding: 0.5rem 0.75rem; border-radius: 0.25rem; }
.problem { background: #fdecea; padding: 0.5rem 0.75rem; border-radius: 0.25rem; }
table { width: 100%; border-collapse: collapse; } td, th { text-align: left; padding: 0.35rem 0.25rem; border-bottom: 1px solid #eee; }
section > form { margin-top: 0.75rem; }
form.inline { display: inline; } .actions { display: flex; flex-wrap: wrap; gap: 0.5rem; }
button { font: inherit; padding: 0.4rem 0.9rem; border-radius: 0.3rem; border: 1px solid #3b2a6e; background: #3b2a6e; color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: #3b2a6e; } button.danger { background: #b3261e; border-color: #b3261e; }
input { font: inherit; padding: 0.35rem; border: 1px solid #bbb; border-radius: 0.25rem; }
label { display: inline-flex; flex-direction: column; gap: 0.15rem; margin-right: 0.5rem; font-size: 0.9rem; }
label.choice { flex-direction: row; align-items: center; gap: 0.4rem; }
fieldset { border: 1px solid #ddd; border-radius: 0.3rem; margin: 0.5rem 0; } caption { text-align: left; font-size: 0.9rem; }
ul.prices { margin: 0; padding-left: 1rem; } select { font: inherit; padding: 0.3rem; }
.scroll { overflow-x: auto; } table.tiers input { width: 100%; box-sizing: border-box; min-width: 4.5rem; }
table.tiers input[type="datetime-local"] { min-width: 11rem; } h3 { font-size: 1rem; margin: 0.5rem 0; }
a { color: #3b2a6e; }
`;

export interface PageOptions {
  title: string;
  body: string;
  /** One inline script, allowed by its hash. */
  script?: string;
  /** Whether other sites may frame the page (the embeddable widget). */
  frameable?: boolean;
  status?: number;
  header?: boolean;
}

/** Sends a self-contained page: inline style and script pinned by hash, nothing else allowed. */
export function sendPage(reply: FastifyReply, options: PageOptions): FastifyReply {
  const csp = [
    "default-src 'none'",
    `style-src ${hashSource(STYLE)}`,
    options.script ? `script-src ${hashSource(options.script)}` : "script-src 'none'",
    "img-src 'self' data:",
    "form-action 'self'",
    "base-uri 'none'",
    `frame-ancestors ${options.frameable ? '*' : "'none'"}`,
  ].join('; ');
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(options.title)}</title>
<style>${STYLE}</style>
</head>
<body>
${options.header === false ? '' : '<header><strong>Hi.Events</strong> <span class="badge">emulator</span></header>'}
${options.body}
${options.script ? `<script>${options.script}</script>` : ''}
</body>
</html>
`;
  return reply
    .status(options.status ?? 200)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', csp)
    .header('cache-control', 'no-store')
    .header('x-content-type-options', 'nosniff')
    .send(html);
}

/** A page saying what went wrong, in words a person understands. */
export function sendProblemPage(
  reply: FastifyReply,
  status: number,
  title: string,
  message: string,
): FastifyReply {
  return sendPage(reply, {
    status,
    title,
    body: `<main><section><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></section></main>`,
  });
}
