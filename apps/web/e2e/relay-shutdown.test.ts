import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './stack.ts';

/**
 * A web server being replaced (SIGTERM) ends the live update streams it relays at once, so that their
 * browsers reconnect to an instance that stays instead of waiting for adapter-node's shutdown timeout.
 */
describe('the updates relay when the web server stops', () => {
  let stack: Stack;

  beforeAll(async () => {
    // A shutdown timeout far beyond this test's own, so that only the relay ending its streams lets it pass.
    stack = await startStack({ browser: false, webEnv: { SHUTDOWN_TIMEOUT: '3600' } });
  });
  afterAll(() => stack?.close());

  it('ends an open relayed stream cleanly on SIGTERM, and the server exits', async () => {
    const response = await fetch(`${stack.web.url}/api/events/updates`, {
      headers: { accept: 'text/event-stream' },
    });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let received = '';
    while (!received.includes('event: ready')) {
      const { done, value } = await reader.read();
      expect(done).toBe(false);
      received += decoder.decode(value, { stream: true });
    }

    const stopping = stack.web.stop();
    // Read to the end: a clean end of the body, not a reset connection, which `read` would throw.
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
    }
    await stopping;
  });
});
