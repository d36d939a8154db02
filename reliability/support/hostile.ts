/** Hostile clients: requests as bytes, and snapshots of what the databases hold. */

import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { openSql } from './postgres.ts';

/** One request and its answer, kept to be checked for server errors and leaked secrets. */
export interface Exchange {
  label: string;
  /** The answer's status; 0 when the connection ended without one. */
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * Sends a request with node:http, which (unlike fetch) lets a test set any header it allows on the
 * wire and still reads an answer that comes before the body has been fully sent (a 413). An event
 * stream's body is not read: its headers are the answer.
 */
export function exchange(
  label: string,
  url: string,
  {
    method = 'GET',
    headers = {},
    body,
  }: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const request = httpRequest(url, { method, headers, agent: false }, (response) => {
      answered = true;
      const done = (text: string) =>
        resolve({ label, status: response.statusCode ?? 0, headers: response.headers, text });
      if (String(response.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        response.destroy();
        done('');
        return;
      }
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => done(Buffer.concat(chunks).toString('utf8')));
      response.on('error', () => done(Buffer.concat(chunks).toString('utf8')));
    });
    request.setTimeout(30_000, () => request.destroy(new Error(`${label}: no answer within 30 s`)));
    request.on('error', (error) => {
      if (answered) return;
      // The server may close the connection after answering a body it will not read.
      if (
        (error as NodeJS.ErrnoException).code === 'ECONNRESET' ||
        (error as NodeJS.ErrnoException).code === 'EPIPE'
      ) {
        resolve({ label, status: 0, headers: {}, text: `connection ended: ${(error as Error).message}` });
      } else {
        reject(error);
      }
    });
    request.end(body);
  });
}

/** Writes raw bytes to a server and answers the status line it sends back, if any, before it closes. */
export function sendRawBytes(
  url: string,
  bytes: string | Buffer,
): Promise<{ statusLine: string; status: number }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    const finish = () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const statusLine = text.split('\r\n')[0] ?? '';
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
      resolve({ statusLine, status });
    };
    socket.setTimeout(3_000, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      // The first answer is all that is needed; keep-alive would otherwise hold the socket open.
      if (Buffer.concat(chunks).includes('\r\n\r\n')) socket.end();
    });
    socket.on('error', () => {});
    socket.on('close', finish);
    socket.write(bytes);
  });
}

/** Every row of every table of a database (but those named), to tell whether anything changed. */
export async function snapshotDatabase(
  url: string,
  { except = [] as string[] } = {},
): Promise<Record<string, string>> {
  const sql = openSql(url);
  try {
    const tables = await sql.rows<{ table_name: string }>(
      `select table_name from information_schema.tables
       where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`,
    );
    const snapshot: Record<string, string> = {};
    for (const { table_name: table } of tables) {
      if (except.includes(table)) continue;
      const rows = await sql.rows<Record<string, unknown>>(
        `select * from "${table}" as row order by row::text`,
      );
      snapshot[table] = JSON.stringify(rows);
    }
    return snapshot;
  } finally {
    await sql.close();
  }
}
