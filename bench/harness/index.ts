/** What the benchmark scenarios share, by concern; each file says what it holds. */
export { freePort, launchChromium, sleep } from '@tuvens/testing';
export * from './database.ts';
export * from './hi-events-side.ts';
export * from './http-client.ts';
export * from './load.ts';
export * from './processes.ts';
export * from './report.ts';
export * from './resources.ts';
export * from './setup.ts';
export * from './web.ts';
export * from './webhooks.ts';
