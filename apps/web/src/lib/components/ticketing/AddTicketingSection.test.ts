import { fireEvent, render, screen } from '@testing-library/svelte';
import type { TicketingStatus } from '@tuvens/contracts';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CrossAppFailure } from '#lib/services/crossAppAuth.ts';
import AddTicketingSection from './AddTicketingSection.svelte';

const CROSS_APP_URL = 'http://localhost:4100';
const TOKEN = 'Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9v';

type Answer = { status: number; body: unknown } | 'network_error';

const SESSION: Answer = { status: 200, body: { session_token: TOKEN, expires_at: '2026-11-23T10:15:00Z' } };
const refusal = (status: number, code: string): Answer => ({
  status,
  body: { error: { code, message: '' } },
});

/** The browser's fetch, answering like the web app's generate-session route would. */
function browserFetch(answer: Answer) {
  return vi.fn(async (_input: RequestInfo | URL, _init?: RequestInit) => {
    if (answer === 'network_error') throw new TypeError('Failed to fetch');
    return Response.json(answer.body, { status: answer.status });
  });
}

const navigate = vi.fn<(url: string) => void>();

beforeEach(() => navigate.mockReset());
afterEach(() => vi.unstubAllGlobals());

function renderSection(
  props: { canManage?: boolean; status?: TicketingStatus; failure?: CrossAppFailure } = {},
) {
  return render(AddTicketingSection, {
    eventId: 1,
    canManage: true,
    status: 'none',
    crossAppUrl: CROSS_APP_URL,
    navigate,
    ...props,
  });
}

describe('AddTicketingSection: who sees it', () => {
  it('is not shown to people who may not manage the event', () => {
    renderSection({ canManage: false });
    expect(screen.queryByRole('button')).toBeNull();
    expect(screen.queryByRole('region')).toBeNull();
  });

  it('offers “Enable ticketing” to an organizer of an event without ticketing', () => {
    renderSection();
    expect(screen.getByRole('button', { name: 'Enable ticketing' })).toBeEnabled();
  });

  it('offers to manage the tickets once ticketing is set up', () => {
    renderSection({ status: 'active' });
    expect(screen.getByRole('button', { name: 'Manage tickets on Hi.Events' })).toBeInTheDocument();
  });
});

describe('AddTicketingSection: enabling', () => {
  it('takes the organizer to Hi.Events with the session token in the URL fragment', async () => {
    const fetch = browserFetch(SESSION);
    vi.stubGlobal('fetch', fetch);
    renderSection();

    await fireEvent.click(screen.getByRole('button', { name: 'Enable ticketing' }));

    await vi.waitFor(() => expect(navigate).toHaveBeenCalledOnce());
    const target = new URL(navigate.mock.calls[0]![0]);
    expect(`${target.origin}${target.pathname}`).toBe(`${CROSS_APP_URL}/auth/cross-app`);
    expect(target.search).toBe('');
    expect(new URLSearchParams(target.hash.slice(1))).toEqual(
      new URLSearchParams({ session_token: TOKEN, event_id: '1' }),
    );
    const [url, init] = fetch.mock.calls[0]!;
    expect(String(url)).toBe('/api/cross-app/generate-session');
    expect(init?.method).toBe('POST');
    expect(JSON.parse(String(init?.body))).toEqual({ eventId: 1 });
  });

  it.each([
    ['signed out', refusal(401, 'unauthorized'), /signed out/i],
    ['not allowed', refusal(403, 'forbidden'), /only the owners and admins/i],
    ['Hi.Events unreachable', refusal(503, 'hi_events_unreachable'), /hi\.events can’t be reached/i],
    ['Tuvens unreachable', refusal(503, 'api_unreachable'), /tuvens can’t be reached/i],
    ['the web app unreachable', 'network_error' as const, /tuvens can’t be reached/i],
  ])('says so in plain words when %s', async (_case, answer: Answer, message) => {
    vi.stubGlobal('fetch', browserFetch(answer));
    renderSection();

    await fireEvent.click(screen.getByRole('button', { name: 'Enable ticketing' }));

    expect(await screen.findByRole('alert')).toHaveTextContent(message);
    expect(navigate).not.toHaveBeenCalled();
    expect(screen.getByRole('button', { name: 'Enable ticketing' })).toBeEnabled();
  });

  it('offers to sign in again after being signed out', async () => {
    vi.stubGlobal('fetch', browserFetch(refusal(401, 'unauthorized')));
    renderSection();

    await fireEvent.click(screen.getByRole('button', { name: 'Enable ticketing' }));

    const signIn = await screen.findByRole('link', { name: 'Sign in' });
    expect(signIn).toHaveAttribute('href', '/login?redirectTo=/event/1');
  });

  it('shows why the attempt without JavaScript failed', () => {
    renderSection({ failure: 'not_allowed' });
    expect(screen.getByRole('alert')).toHaveTextContent(/only the owners and admins/i);
  });
});
