/** What the reliability tests share, by concern; each file says what it holds. */
export { freePort } from '@tuvens/testing';
export * from './deliveries.ts';
export * from './delivery-gate.ts';
export * from './driving.ts';
export * from './hostile.ts';
export * from './postgres.ts';
export * from './secrets.ts';
export * from './services.ts';
export * from './sse-clients.ts';
export * from './waiting.ts';
