import { render, screen } from '@testing-library/svelte';
import type { TicketingStatus } from '@tuvens/contracts';
import { describe, expect, it } from 'vitest';
import TurnOffTicketing from './TurnOffTicketing.svelte';

const renderForm = (props: { canManage: boolean; status: TicketingStatus; failure?: string }) =>
  render(TurnOffTicketing, props);

describe('turning ticketing off', () => {
  it('offers people who manage a linked event a form that posts to the page’s action', () => {
    for (const status of ['setup', 'active', 'inactive'] as const) {
      const { unmount } = renderForm({ canManage: true, status });
      const button = screen.getByRole('button', { name: 'Turn ticketing off' });
      const form = button.closest('form')!;
      expect(form.getAttribute('method')).toBe('POST');
      expect(form.getAttribute('action')).toBe('?/turnOffTicketing');
      unmount();
    }
  });

  it('is not offered without ticketing, nor to people who may not manage it', () => {
    renderForm({ canManage: true, status: 'none' });
    renderForm({ canManage: false, status: 'active' });
    expect(screen.queryByRole('button', { name: 'Turn ticketing off' })).toBeNull();
  });

  it('says why the last attempt failed', () => {
    renderForm({ canManage: true, status: 'active', failure: 'Tuvens can’t be reached right now.' });
    expect(screen.getByRole('alert').textContent).toBe('Tuvens can’t be reached right now.');
  });
});
