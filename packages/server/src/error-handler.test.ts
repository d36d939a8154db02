import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { registerErrorHandler } from './error-handler.ts';
import { HttpError } from './errors.ts';

/** An app's own error type, as tuvens-api and the connector declare theirs. */
class AppError extends HttpError<'conflict'> {
  constructor(message: string) {
    super('conflict', 409, message);
  }
}

/** A foreign error carrying a status, as plugins throw them. */
function statusError(statusCode: number, message: string) {
  return Object.assign(new Error(message), { statusCode });
}

describe('the error handler', () => {
  let app: FastifyInstance;
  const logLines: string[] = [];

  beforeAll(async () => {
    const stream = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    app = Fastify({ logger: { level: 'error', stream }, bodyLimit: 64 });
    app.setValidatorCompiler(validatorCompiler);
    registerErrorHandler(app);
    app.get('/conflict', async () => {
      throw new AppError('That name is taken');
    });
    app.post(
      '/items',
      { schema: { body: z.object({ item: z.object({ name: z.string() }) }) } },
      async () => 'ok',
    );
    app.get('/too-many', async () => {
      throw statusError(429, 'Slow down');
    });
    app.get('/teapot', async () => {
      throw statusError(418, 'I am a teapot');
    });
    app.get('/crash', async () => {
      throw new Error('password=hunter2 in a stack');
    });
    await app.ready();
  });
  afterAll(() => app.close());

  const post = (body: string, contentType = 'application/json') =>
    app.inject({ method: 'POST', url: '/items', headers: { 'content-type': contentType }, body });

  it('answers an app error with its own status, code and message, byte for byte', async () => {
    const response = await app.inject({ method: 'GET', url: '/conflict' });
    expect(response.statusCode).toBe(409);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.body).toBe('{"error":{"code":"conflict","message":"That name is taken"}}');
  });

  it('names the field that fails validation', async () => {
    const response = await post('{"item":{"name":7}}');
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({
      error: { code: 'validation_failed', message: expect.stringMatching(/^body\.item\.name: /) },
    });
  });

  it('answers a body that is not JSON, or is empty, as invalid_json', async () => {
    for (const body of ['{"item":', '']) {
      const response = await post(body);
      expect(response.statusCode).toBe(400);
      expect(response.json().error.code).toBe('invalid_json');
    }
    expect((await post('{')).json().error.message).toBe('The request body is not valid JSON');
  });

  it('gives Fastify’s own refusals codes of ours', async () => {
    const tooLarge = await post(JSON.stringify({ item: { name: 'x'.repeat(100) } }));
    expect(tooLarge.statusCode).toBe(413);
    expect(tooLarge.json().error.code).toBe('payload_too_large');
    const wrongType = await post('name', 'text/csv');
    expect(wrongType.statusCode).toBe(415);
    expect(wrongType.json().error.code).toBe('unsupported_media_type');
  });

  it('keeps a foreign 4xx’s status and message: a 429 is rate_limited, any other bad_request', async () => {
    const tooMany = await app.inject({ method: 'GET', url: '/too-many' });
    expect(tooMany.statusCode).toBe(429);
    expect(tooMany.json()).toEqual({ error: { code: 'rate_limited', message: 'Slow down' } });
    const teapot = await app.inject({ method: 'GET', url: '/teapot' });
    expect(teapot.statusCode).toBe(418);
    expect(teapot.json()).toEqual({ error: { code: 'bad_request', message: 'I am a teapot' } });
  });

  it('logs anything unexpected and answers 500 without leaking it', async () => {
    const response = await app.inject({ method: 'GET', url: '/crash' });
    expect(response.statusCode).toBe(500);
    expect(response.body).toBe(
      '{"error":{"code":"internal_error","message":"Something went wrong on our side"}}',
    );
    expect(logLines.some((line) => line.includes('unhandled error') && line.includes('hunter2'))).toBe(true);
  });

  it('answers an unknown route with its method and path, but not its query', async () => {
    const response = await app.inject({ method: 'DELETE', url: '/nowhere?token=secret' });
    expect(response.statusCode).toBe(404);
    expect(response.body).toBe('{"error":{"code":"not_found","message":"No route DELETE /nowhere"}}');
  });
});
