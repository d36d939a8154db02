import http from 'node:http';

/**
 * The SSE fan-out's ceiling: the least a Node.js server can do to broadcast one message to many
 * streams. `GET /updates` opens a stream; `POST /publish` writes its body as one SSE message to
 * every open stream. No framework, no database, no filtering: what is left is node:http and the kernel.
 */
function main(): void {
  const streams = new Set<http.ServerResponse>();
  let nextId = 0;
  const server = http.createServer((request, response) => {
    if (request.method === 'GET' && request.url?.startsWith('/updates')) {
      response.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
      });
      response.write('retry: 1000\n\n');
      streams.add(response);
      response.on('close', () => streams.delete(response));
      return;
    }
    if (request.method === 'POST' && request.url === '/publish') {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        nextId += 1;
        const frame = Buffer.from(`id: ${nextId}\ndata: ${Buffer.concat(chunks).toString()}\n\n`);
        for (const stream of streams) stream.write(frame);
        response.writeHead(204).end();
      });
      return;
    }
    response.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    if (typeof address === 'object' && address) process.send?.({ type: 'raw:ready', port: address.port });
  });
  process.on('SIGTERM', () => process.exit(0));
}

if (import.meta.main) main();
