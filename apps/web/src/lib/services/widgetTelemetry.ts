import type { WidgetLoadReport } from '@tuvens/contracts';

/** `WIDGET_LOAD_BEACON_PATH` in the contracts, kept here so that zod stays out of the page. */
const WIDGET_LOAD_BEACON_PATH = '/api/telemetry/widget-load';

/**
 * Tells tuvens-api how a ticket widget fared, for its load-time metrics. A beacon survives the page
 * being closed, and as text/plain it needs no CORS preflight; losing one now and then is harmless.
 */
export function reportWidgetLoad(apiBaseUrl: string, report: WidgetLoadReport): void {
  if (typeof navigator === 'undefined' || typeof navigator.sendBeacon !== 'function') return;
  navigator.sendBeacon(new URL(WIDGET_LOAD_BEACON_PATH, apiBaseUrl), JSON.stringify(report));
}
