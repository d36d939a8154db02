import { PUBLIC_API_BASE_URL, PUBLIC_CROSS_APP_URL, PUBLIC_HI_EVENTS_URL } from '$app/env/public';

/** Where the browser finds the other parts of the system. Read from the environment when the server starts. */
export interface PublicConfig {
  /** tuvens-api as browsers reach it (the live updates stream). */
  readonly apiBaseUrl: string;
  /** The public Hi.Events site: widget iframes and their resize messages come from its origin. */
  readonly hiEventsUrl: string;
  /** Where `/auth/cross-app` lives: the connector beside Hi.Events. */
  readonly crossAppUrl: string;
}

export const publicConfig: PublicConfig = Object.freeze({
  apiBaseUrl: PUBLIC_API_BASE_URL!,
  hiEventsUrl: PUBLIC_HI_EVENTS_URL!,
  crossAppUrl: PUBLIC_CROSS_APP_URL!,
});
