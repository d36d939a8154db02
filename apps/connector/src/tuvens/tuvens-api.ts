import {
  DescribeSessionResponse,
  ErrorBody,
  SESSION_TOKEN_HEADER,
  SHARED_SECRET_HEADER,
  ValidatePermissionResponse,
  ValidateSessionResponse,
} from '@tuvens/contracts';
import type { ConnectorConfig } from '../config.ts';

export type SessionRefusalReason =
  | 'expired'
  | 'used'
  | 'invalid'
  | 'not_allowed'
  | 'other_browser'
  | 'unreachable'
  | 'misconfigured';

export type SessionValidation =
  | { ok: true; session: ValidateSessionResponse }
  | { ok: false; reason: SessionRefusalReason; detail: string };

export type SessionDescription =
  | { ok: true; description: DescribeSessionResponse }
  | { ok: false; reason: SessionRefusalReason; detail: string };

/** What binds a validation to the browser and link it came from (docs/architecture.md#sign-in-flow). */
export interface SessionBinding {
  /** The PKCE verifier from this browser's state cookie; absent for a confirmed unbound link. */
  codeVerifier?: string | undefined;
  /** The event the link named. */
  eventId?: number | undefined;
}

export interface TuvensApiClient {
  /** Validates (and so consumes) a cross-app session token: `POST /api/cross-app/validate-session`. */
  validateSession(sessionToken: string, binding?: SessionBinding): Promise<SessionValidation>;
  /** Whom and what a fresh token signs in as, without consuming it: `POST /api/cross-app/describe-session`. */
  describeSession(sessionToken: string): Promise<SessionDescription>;
  /**
   * Whether the person of a validated session may still manage an account
   * (`POST /api/cross-app/validate-permission`, `account:manage`): `denied` also when the session was
   * revoked or has expired; `unreachable` when tuvens-api did not say.
   */
  checkAccountPermission(
    sessionToken: string,
    accountId: number,
  ): Promise<'allowed' | 'denied' | 'unreachable'>;
}

export interface TuvensApiDeps {
  config: ConnectorConfig;
  fetch?: typeof fetch;
  /** Waits between tries; injected so that tests need not wait. */
  sleep?: (ms: number) => Promise<void>;
}

const RETRY_DELAY_MS = 200;

/**
 * The connector's client of tuvens-api. A call times out, and is tried again only after a network
 * error or a 5xx: any other answer is final. A token is single use, so when an earlier try may have
 * reached tuvens-api and a later one hears "already used", the honest answer is "unreachable".
 */
export function createTuvensApiClient({
  config,
  fetch: fetchImpl = fetch,
  sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
}: TuvensApiDeps): TuvensApiClient {
  const { tuvens } = config;

  /** Posts to tuvens-api with the shared secret; a network error or a 5xx is tried again. */
  async function post(
    path: string,
    body: unknown,
  ): Promise<
    | { ok: true; status: number; body: unknown; earlierTry: string | undefined }
    | { ok: false; detail: string }
  > {
    let ambiguous = false;
    let lastDetail = '';
    for (let attempt = 0; attempt <= tuvens.retries; attempt += 1) {
      if (attempt > 0) await sleep(RETRY_DELAY_MS * 2 ** (attempt - 1));
      let response: Response;
      try {
        response = await fetchImpl(`${tuvens.apiUrl}${path}`, {
          method: 'POST',
          headers: {
            accept: 'application/json',
            'content-type': 'application/json',
            [SHARED_SECRET_HEADER]: tuvens.sharedSecrets[0]!,
          },
          body: JSON.stringify(body),
          redirect: 'manual',
          signal: AbortSignal.timeout(tuvens.timeoutMs),
        });
      } catch (error) {
        // A refused connection never reached tuvens-api; a timeout may have.
        if (!isConnectionRefused(error)) ambiguous = true;
        lastDetail = describe(error);
        continue;
      }
      if (response.status >= 500) {
        ambiguous = true;
        lastDetail = `tuvens-api answered ${response.status}`;
        await response.body?.cancel();
        continue;
      }
      return {
        ok: true,
        status: response.status,
        body: await response.json().catch(() => undefined),
        // Set when an earlier try may have reached tuvens-api: what became of it.
        earlierTry: ambiguous ? lastDetail : undefined,
      };
    }
    return { ok: false, detail: lastDetail };
  }

  return {
    async describeSession(sessionToken) {
      const answer = await post('/api/cross-app/describe-session', { session_token: sessionToken });
      if (!answer.ok) return { ok: false, reason: 'unreachable', detail: answer.detail };
      if (answer.status === 200) {
        const description = DescribeSessionResponse.safeParse(answer.body);
        return description.success
          ? { ok: true, description: description.data }
          : { ok: false, reason: 'unreachable', detail: 'tuvens-api answered an unexpected shape' };
      }
      const code = ErrorBody.safeParse(answer.body).data?.error.code ?? `status ${answer.status}`;
      return { ok: false, reason: refusalReason(answer.status, code), detail: code };
    },

    async validateSession(sessionToken, binding = {}) {
      const answer = await post('/api/cross-app/validate-session', {
        session_token: sessionToken,
        code_verifier: binding.codeVerifier,
        event_id: binding.eventId,
      });
      if (!answer.ok) return { ok: false, reason: 'unreachable', detail: answer.detail };
      if (answer.status === 200) {
        const session = ValidateSessionResponse.safeParse(answer.body);
        return session.success
          ? { ok: true, session: session.data }
          : { ok: false, reason: 'unreachable', detail: 'tuvens-api answered an unexpected shape' };
      }
      const code = ErrorBody.safeParse(answer.body).data?.error.code ?? `status ${answer.status}`;
      const reason = refusalReason(answer.status, code);
      if (answer.earlierTry !== undefined && reason === 'used') {
        return {
          ok: false,
          reason: 'unreachable',
          detail: `an earlier try may have used the token (${answer.earlierTry})`,
        };
      }
      return { ok: false, reason, detail: code };
    },

    async checkAccountPermission(sessionToken, accountId) {
      let response: Response;
      try {
        response = await fetchImpl(`${tuvens.apiUrl}/api/cross-app/validate-permission`, {
          method: 'POST',
          headers: {
            accept: 'application/json',
            'content-type': 'application/json',
            [SHARED_SECRET_HEADER]: tuvens.sharedSecrets[0]!,
            [SESSION_TOKEN_HEADER]: sessionToken,
          },
          body: JSON.stringify({
            permission: 'account:manage',
            resource: { type: 'account', id: accountId },
          }),
          redirect: 'manual',
          signal: AbortSignal.timeout(tuvens.timeoutMs),
        });
      } catch {
        return 'unreachable';
      }
      const body = await response.json().catch(() => undefined);
      if (response.status === 200) {
        const answer = ValidatePermissionResponse.safeParse(body);
        if (!answer.success) return 'unreachable';
        return answer.data.allowed ? 'allowed' : 'denied';
      }
      // A session revoked, expired or unknown: the person must sign in through Tuvens again.
      const code = ErrorBody.safeParse(body).data?.error.code;
      if (response.status === 401 && code !== 'invalid_shared_secret') return 'denied';
      return 'unreachable';
    },
  };
}

function refusalReason(status: number, code: string): Exclude<SessionValidation, { ok: true }>['reason'] {
  switch (code) {
    case 'session_expired':
      return 'expired';
    case 'session_consumed':
    case 'session_revoked':
      return 'used';
    case 'forbidden':
      return 'not_allowed';
    case 'session_verifier_required':
    case 'session_verifier_mismatch':
    case 'session_event_mismatch':
      return 'other_browser';
    case 'invalid_shared_secret':
      return 'misconfigured';
    case 'session_unknown':
    case 'validation_failed':
      return 'invalid';
    default:
      return status === 403 ? 'not_allowed' : status === 429 ? 'unreachable' : 'invalid';
  }
}

function isConnectionRefused(error: unknown): boolean {
  const cause = error instanceof Error ? (error.cause as { code?: string } | undefined) : undefined;
  return cause?.code === 'ECONNREFUSED';
}

function describe(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'timed out';
  const cause = error instanceof Error ? (error.cause as { code?: string } | undefined) : undefined;
  return cause?.code ?? (error instanceof Error ? error.message : String(error));
}
