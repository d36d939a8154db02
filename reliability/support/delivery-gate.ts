/** A gate on the line from the connector to tuvens-api that can hold deliveries in flight. */

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { STATUS_WEBHOOK_PATH } from '@tuvens/contracts';
import { freePort } from '@tuvens/testing';

export interface DeliveryGate {
  /** Where the connector should find tuvens-api. */
  readonly url: string;
  readonly counts: {
    /** Status webhooks passed through and answered. */
    passed: number;
    /** Of those, the ones tuvens-api answered as already applied. */
    answeredDuplicate: number;
    /** Status webhooks held without being forwarded. */
    heldUnsent: number;
    /** Status webhooks forwarded, applied by tuvens-api, and their answer held back. */
    heldAfterApplying: number;
  };
  /** Status webhooks held open right now. */
  openNow(): number;
  /**
   * From now on, status webhooks are held open: every other one is first forwarded (so tuvens-api
   * applies it, but the connector never hears so), the rest are not forwarded at all.
   */
  hold(): void;
  /** Lets everything through again; what is held stays unanswered until its sender gives up. */
  release(): void;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive']);

/** A loopback proxy in front of tuvens-api that can hold the connector's deliveries in flight. */
export async function startDeliveryGate(targetUrl: string): Promise<DeliveryGate> {
  const port = await freePort();
  const counts = { passed: 0, answeredDuplicate: 0, heldUnsent: 0, heldAfterApplying: 0 };
  const open = new Set<ServerResponse>();
  let holding = false;
  let heldSoFar = 0;

  const forward = async (request: IncomingMessage, body: Buffer) => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (typeof value === 'string' && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
    const answer = await fetch(`${targetUrl}${request.url}`, {
      method: request.method,
      headers,
      body: request.method === 'GET' || request.method === 'HEAD' ? undefined : new Uint8Array(body),
      redirect: 'manual',
    });
    return { status: answer.status, type: answer.headers.get('content-type'), text: await answer.text() };
  };

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const body = Buffer.concat(chunks);
      const isDelivery = request.method === 'POST' && request.url === STATUS_WEBHOOK_PATH;
      try {
        if (isDelivery && holding) {
          open.add(response);
          response.once('close', () => open.delete(response));
          if (heldSoFar++ % 2 === 0) {
            await forward(request, body);
            counts.heldAfterApplying++;
          } else {
            counts.heldUnsent++;
          }
          return;
        }
        const answer = await forward(request, body);
        if (isDelivery) {
          counts.passed++;
          if (answer.text.includes('"reason":"duplicate"')) counts.answeredDuplicate++;
        }
        response.writeHead(answer.status, answer.type ? { 'content-type': answer.type } : {});
        response.end(answer.text);
      } catch {
        if (!response.headersSent) response.writeHead(502);
        response.end();
      }
    });
  });
  // A sender that dies mid-request resets its socket; that is expected here.
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));

  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    openNow: () => open.size,
    hold() {
      holding = true;
    },
    release() {
      holding = false;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
