import { render, screen } from '@testing-library/svelte';
import type { TicketingStatus } from '@tuvens/contracts';
import { describe, expect, it } from 'vitest';
import type { CrossAppFailure } from '#lib/services/crossAppAuth.ts';
import AddTicketingSection from './AddTicketingSection.svelte';

function renderSection(
  props: { canManage?: boolean; status?: TicketingStatus; failure?: CrossAppFailure } = {},
) {
  return render(AddTicketingSection, { eventId: 1, canManage: true, status: 'none', ...props });
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
  it('posts to the page’s own action, which hands the browser on to the connector', () => {
    renderSection();
    const form = screen.getByRole('button', { name: 'Enable ticketing' }).closest('form')!;
    expect(form.method).toBe('post');
    expect(form.getAttribute('action')).toBe('?/enableTicketing');
  });

  it.each([
    ['signed out', 'signed_out' as const, /signed out/i],
    ['not allowed', 'not_allowed' as const, /only the owners and admins/i],
    ['Hi.Events unreachable', 'hi_events_unreachable' as const, /hi\.events can’t be reached/i],
    ['Tuvens unreachable', 'tuvens_unreachable' as const, /tuvens can’t be reached/i],
    [
      'sent here by a link that did not start on this page',
      'start_here' as const,
      /opens only from this page/i,
    ],
  ])('says so in plain words when %s', (_case, failure, message) => {
    renderSection({ failure });
    expect(screen.getByRole('alert')).toHaveTextContent(message);
    expect(screen.getByRole('button', { name: 'Enable ticketing' })).toBeEnabled();
  });

  it('offers to sign in again after being signed out', () => {
    renderSection({ failure: 'signed_out' });
    expect(screen.getByRole('link', { name: 'Sign in' })).toHaveAttribute(
      'href',
      '/login?redirectTo=/event/1',
    );
  });
});
