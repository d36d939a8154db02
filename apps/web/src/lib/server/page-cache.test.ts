// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { PageCache } from './page-cache.ts';

const KEY = 'https://tuvens.example/event/7';

function page(body: string, init: ResponseInit = {}) {
  return new Response(body, {
    status: 200,
    ...init,
    headers: {
      'content-type': 'text/html',
      'content-security-policy': "script-src 'sha256-x'",
      ...init.headers,
    },
  });
}

/** A cache hearing the change stream, its clock in the test's hands, and a counter of pages drawn. */
function setUp(maxAgeMs = 5_000) {
  let now = 1_000;
  const cache = new PageCache({ maxAgeMs, maxEntries: 2, now: () => now });
  cache.setListening(true);
  let drawn = 0;
  const render =
    (body = `page ${drawn + 1}`, init?: ResponseInit) =>
    async () => {
      drawn++;
      return page(body, init);
    };
  return {
    cache,
    render,
    drawn: () => drawn,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('PageCache', () => {
  it('serves a page drawn once again, with its status, headers and bytes', async () => {
    const { cache, render, drawn } = setUp();
    await (await cache.serve(KEY, 7, render())).text();
    const again = await cache.serve(KEY, 7, render());
    expect(drawn()).toBe(1);
    expect(again.status).toBe(200);
    expect(again.headers.get('content-security-policy')).toBe("script-src 'sha256-x'");
    expect(await again.text()).toBe('page 1');
  });

  it('draws the page anew once its event changed', async () => {
    const { cache, render, drawn } = setUp();
    await cache.serve(KEY, 7, render());
    cache.invalidate(8);
    await cache.serve(KEY, 7, render());
    expect(drawn()).toBe(1);
    cache.invalidate(7);
    expect(await (await cache.serve(KEY, 7, render())).text()).toBe('page 2');
  });

  it('keeps no page whose event changed while it was being drawn', async () => {
    const { cache, render, drawn } = setUp();
    await cache.serve(KEY, 7, async () => {
      cache.invalidate(7);
      return render()();
    });
    await cache.serve(KEY, 7, render());
    expect(drawn()).toBe(2);
  });

  it('keeps nothing while the change stream is not heard, and drops every page when it is lost', async () => {
    const { cache, render, drawn } = setUp();
    await cache.serve(KEY, 7, render());
    cache.setListening(false);
    expect(cache.size).toBe(0);
    await cache.serve(KEY, 7, render());
    await cache.serve(KEY, 7, render());
    expect(drawn()).toBe(3);
  });

  it('serves a page no longer than its maximum age', async () => {
    const { cache, render, drawn, advance } = setUp(5_000);
    await cache.serve(KEY, 7, render());
    advance(4_999);
    await cache.serve(KEY, 7, render());
    expect(drawn()).toBe(1);
    advance(1);
    await cache.serve(KEY, 7, render());
    expect(drawn()).toBe(2);
  });

  it('keeps nothing with a maximum age of 0', async () => {
    const { cache, render, drawn } = setUp(0);
    await cache.serve(KEY, 7, render());
    await cache.serve(KEY, 7, render());
    expect(drawn()).toBe(2);
  });

  it('keeps no answer that sets a cookie, is not a 200, or is not HTML', async () => {
    const { cache, render, drawn } = setUp();
    await cache.serve(KEY, 7, render('x', { headers: { 'set-cookie': 'a=b' } }));
    await cache.serve(KEY, 7, render('x', { status: 404 }));
    await cache.serve(KEY, 7, render('x', { headers: { 'content-type': 'application/json' } }));
    await cache.serve(KEY, 7, render());
    expect(drawn()).toBe(4);
  });

  it('keeps pages apart by key: another origin gets its own page', async () => {
    const { cache, render } = setUp();
    await cache.serve(KEY, 7, render('for tuvens.example'));
    const other = await cache.serve('https://other.example/event/7', 7, render('for other.example'));
    expect(await other.text()).toBe('for other.example');
  });

  it('requests that come while a page is drawn wait for it instead of drawing it again', async () => {
    const { cache, render, drawn } = setUp();
    const { promise: released, resolve: release } = Promise.withResolvers<void>();
    const first = cache.serve(KEY, 7, async () => {
      await released;
      return render()();
    });
    const followers = [cache.serve(KEY, 7, render()), cache.serve(KEY, 7, render())];
    release();
    const bodies = await Promise.all([first, ...followers].map(async (answer) => (await answer).text()));
    expect(bodies).toEqual(['page 1', 'page 1', 'page 1']);
    expect(drawn()).toBe(1);
  });

  it('keeps at most its maximum number of pages, dropping the oldest', async () => {
    const { cache, render, drawn } = setUp();
    await cache.serve('a', 1, render());
    await cache.serve('b', 2, render());
    await cache.serve('c', 3, render());
    expect(cache.size).toBe(2);
    await cache.serve('a', 1, render());
    expect(drawn()).toBe(4);
  });
});
