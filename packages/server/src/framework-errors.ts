import { STATUS_CODES } from 'node:http';
import type { FastifyServerOptions } from 'fastify';
import { errorBody } from './errors.ts';

/**
 * Refusals that happen before a route's own error handling — a malformed or over-long
 * path, and requests Node's HTTP parser rejects (oversized headers, malformed HTTP) — answered in the
 * one `{error: {code, message}}` shape, without echoing what was sent. Spread into Fastify's options.
 */
export const frameworkErrorOptions: Pick<FastifyServerOptions, 'frameworkErrors' | 'clientErrorHandler'> = {
  frameworkErrors(error, _request, reply) {
    const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
    const body = JSON.stringify(
      tooLong
        ? errorBody('uri_too_long', 'A path segment of the request is too long')
        : errorBody('bad_request', 'The request path is malformed'),
    );
    reply.raw.writeHead(tooLong ? 414 : 400, { 'content-type': 'application/json' }).end(body);
  },

  clientErrorHandler(error: NodeJS.ErrnoException, socket) {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const [status, code, message] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'headers_too_large', 'The request headers are too large']
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'request_timeout', 'The request took too long to arrive']
          : [400, 'bad_request', 'The request is not valid HTTP'];
    const body = JSON.stringify(errorBody(code, message));
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  },
};
