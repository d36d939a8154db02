export * from './auth.ts';
export * from './cross-app.ts';
export * from './errors.ts';
export * from './events.ts';
export * from './hi-events.ts';
export * from './sse.ts';
export * from './ticketing.ts';
export * from './webhooks.ts';
