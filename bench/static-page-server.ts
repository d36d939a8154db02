import { readFileSync } from 'node:fs';
import http from 'node:http';

/**
 * The event page's ceiling: its final HTML, as the web app rendered it once, written by a bare
 * `node:http` server to every GET. No rendering, no call to tuvens-api: what is left is node:http
 * and the kernel. `PAGE_FILE` holds the body; `PAGE_CONTENT_TYPE` its content type.
 */
function main(): void {
  const body = readFileSync(process.env.PAGE_FILE ?? '');
  const headers = {
    'content-type': process.env.PAGE_CONTENT_TYPE ?? 'text/html',
    'content-length': body.length,
  };
  const server = http.createServer((request, response) => {
    if (request.method !== 'GET') {
      response.writeHead(405).end();
      return;
    }
    response.writeHead(200, headers);
    response.end(body);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    if (typeof address === 'object' && address) process.send?.({ type: 'static:ready', port: address.port });
  });
  process.on('SIGTERM', () => process.exit(0));
}

if (import.meta.main) main();
