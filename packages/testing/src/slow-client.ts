import { connect } from 'node:net';

/**
 * A client that sends a request's head and then its body a byte at a time, as a slowloris attack
 * does, until the server closes the connection. Answers what the server wrote and how long the
 * connection stayed open, or `closed: false` after `giveUpMs`.
 */
export function sendSlowRequest(
  url: string,
  options: { method?: string; path: string; intervalMs?: number; giveUpMs?: number },
): Promise<{ closed: boolean; openMs: number; answer: string }> {
  const { hostname, port } = new URL(url);
  const { method = 'POST', path, intervalMs = 200, giveUpMs = 10_000 } = options;
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const startedAt = Date.now();
    let answer = '';
    const finish = (closed: boolean) => {
      clearInterval(drip);
      clearTimeout(giveUp);
      socket.destroy();
      resolve({ closed, openMs: Date.now() - startedAt, answer });
    };
    const drip = setInterval(() => socket.write(' '), intervalMs);
    const giveUp = setTimeout(() => finish(false), giveUpMs);
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
    });
    socket.on('close', () => finish(true));
    socket.write(
      `${method} ${path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\n` +
        'Content-Length: 10000\r\n\r\n{',
    );
  });
}
