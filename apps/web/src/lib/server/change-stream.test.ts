// @vitest-environment node
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EVENT_UPDATES_PATH } from '@tuvens/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { ChangeStream } from './change-stream.ts';

/** A stand-in for tuvens-api's updates stream that the test writes to. */
async function startStreamServer() {
  const streams: http.ServerResponse[] = [];
  const paths: string[] = [];
  let status = 200;
  const server = http.createServer((request, response) => {
    paths.push(request.url ?? '');
    if (status !== 200) {
      response.writeHead(status).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write('retry: 1000\n\n');
    streams.push(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    streams,
    paths,
    refuse(code: number) {
      status = code;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function recorder() {
  const heard: string[] = [];
  return {
    heard,
    listener: {
      setListening: (listening: boolean) => heard.push(listening ? 'listening' : 'lost'),
      invalidate: (eventId: number) => heard.push(`changed ${eventId}`),
      clear: () => heard.push('clear'),
    },
  };
}

async function until(condition: () => boolean, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('ChangeStream', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('is heard once ready, tells each change by event, and is lost and reopened when the stream ends', async () => {
    const api = await startStreamServer();
    const { heard, listener } = recorder();
    const stream = new ChangeStream({ apiUrl: api.url, listener, retryMs: 50 });
    cleanups.push(api.close, () => stream.stop());
    stream.start();
    await until(() => api.streams.length === 1);
    expect(api.paths[0]).toBe(EVENT_UPDATES_PATH);
    api.streams[0]!.write('event: ready\nid: 3\ndata: {"type":"ready"}\n\n');
    api.streams[0]!.write('id: 4\ndata: {"type":"ticket_summary_changed","eventId":7}\n\n');
    api.streams[0]!.write('id: 5\ndata: {"type":"something_new"}\n\n');
    await until(() => heard.length === 3);
    expect(heard).toEqual(['listening', 'changed 7', 'clear']);

    api.streams[0]!.end();
    await until(() => api.streams.length === 2);
    expect(heard.at(-1)).toBe('lost');
    api.streams[1]!.write('event: ready\nid: 5\ndata: {"type":"ready"}\n\n');
    await until(() => heard.at(-1) === 'listening');
  });

  it('is not heard while tuvens-api refuses the stream, and a silent stream counts as lost', async () => {
    const api = await startStreamServer();
    api.refuse(503);
    const { heard, listener } = recorder();
    const stream = new ChangeStream({ apiUrl: api.url, listener, retryMs: 50, silenceMs: 200 });
    cleanups.push(api.close, () => stream.stop());
    stream.start();
    await until(() => api.paths.length >= 2);
    expect(heard.every((entry) => entry === 'lost')).toBe(true);

    api.refuse(200);
    await until(() => api.streams.length === 1);
    api.streams[0]!.write('event: ready\nid: 1\ndata: {"type":"ready"}\n\n');
    await until(() => heard.at(-1) === 'listening');
    await until(() => heard.at(-1) === 'lost');
  });
});
