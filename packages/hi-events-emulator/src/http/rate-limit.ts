import { requestToken, type TokenSettings, verifyToken } from '../auth/tokens.ts';
import type { HiEventsStore } from '../state/store.ts';
import type { Emulator } from './context.ts';
import { EmulatorError } from './errors.ts';

const WINDOW_MS = 60_000;

/**
 * Hi.Events' `api` rate limiter (`Providers/RouteServiceProvider.php`, applied by `ThrottleRequests:api`
 * in `Http/Kernel.php`): `APP_API_RATE_LIMIT_PER_MINUTE` requests a minute per signed-in user, else
 * per address. Past the limit Laravel answers 429 with `Retry-After` (seconds until the window ends).
 */
export function registerRateLimit(
  app: Emulator,
  options: { store: HiEventsStore; tokens: TokenSettings; perMinute: number },
): void {
  const windows = new Map<string, { startedAt: number; count: number }>();
  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/api/')) return;
    const token = requestToken(request);
    const verified = token ? await verifyToken(options.tokens, options.store, token) : undefined;
    const key = verified ? `user:${verified.actor.userId}` : `ip:${request.ip}`;
    const now = options.store.now().getTime();
    let window = windows.get(key);
    if (!window || now - window.startedAt >= WINDOW_MS) {
      window = { startedAt: now, count: 0 };
      windows.set(key, window);
    }
    window.count += 1;
    const remaining = Math.max(0, options.perMinute - window.count);
    reply.header('x-ratelimit-limit', options.perMinute).header('x-ratelimit-remaining', remaining);
    if (window.count > options.perMinute) {
      const retryAfter = Math.max(1, Math.ceil((window.startedAt + WINDOW_MS - now) / 1000));
      reply.header('retry-after', retryAfter);
      throw new EmulatorError(429, 'too_many_requests', 'Too Many Attempts.');
    }
  });
}
