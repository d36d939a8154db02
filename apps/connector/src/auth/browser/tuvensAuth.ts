import type { CrossAppAuthService, CrossAppOutcome } from './CrossAppAuthService.ts';

/**
 * The seed's `tuvensAuth`: the landing page's Tuvens-specific part. It takes the link from the
 * address, has it validated, and either moves on to the event's ticket set-up in Hi.Events or says
 * in plain words what went wrong, with the way back to Tuvens. A link not bound to this browser
 * stops at a confirmation naming whom it signs in as; nothing is used until the person confirms.
 *
 * It runs as text inside the page (see `landing-page.ts`): the service class comes in as an
 * argument, and everything else it needs is in the page's `data-` attributes.
 */
export function startTuvensSignIn(Service: typeof CrossAppAuthService, doc: Document, win: Window): void {
  const root = doc.getElementById('sign-in');
  const title = doc.getElementById('title');
  const status = doc.getElementById('status');
  const back = doc.getElementById('back-to-tuvens');
  const confirm = doc.getElementById('confirm');
  const replaces = doc.getElementById('confirm-replaces');
  const confirmButton = doc.getElementById('confirm-button');
  if (
    !root ||
    !title ||
    !status ||
    !(back instanceof HTMLAnchorElement) ||
    !confirm ||
    !replaces ||
    !(confirmButton instanceof HTMLButtonElement)
  ) {
    return;
  }
  const endpoint = root.dataset.endpoint ?? '';
  const tuvensUrl = root.dataset.tuvensUrl ?? '';
  const hiEventsOrigin = root.dataset.hiEventsOrigin ?? '';
  const messages = JSON.parse(root.dataset.messages ?? '{}') as Record<string, string>;

  const service = new Service(endpoint);
  const link = service.takeLinkFromAddress(win.location, win.history);
  if (link.eventId && /^\d{1,10}$/.test(link.eventId)) back.href = `${tuvensUrl}/event/${link.eventId}`;

  const fail = (text: string) => {
    title.textContent = 'We could not open ticketing';
    status.textContent = text;
    root.classList.add('failed');
    title.focus();
  };

  const finish = (outcome: CrossAppOutcome) => {
    confirm.hidden = true;
    if (outcome.ok === 'confirm') {
      const { confirmation } = outcome;
      title.textContent = 'Check before you continue';
      status.textContent =
        `This link signs this browser in to Hi.Events as ${confirmation.userName} (${confirmation.userEmail}) ` +
        `of ${confirmation.accountName}, to set up tickets for “${confirmation.eventTitle}”. ` +
        'Continue only if you asked for it yourself on Tuvens.';
      replaces.hidden = !confirmation.replacesOtherSignIn;
      confirmButton.textContent = `Continue as ${confirmation.userName}`;
      confirmButton.disabled = false;
      confirm.hidden = false;
      title.focus();
      return;
    }
    if (!outcome.ok) {
      fail(messages[outcome.code] ?? outcome.message ?? messages.unavailable ?? '');
      return;
    }
    let target: URL | undefined;
    try {
      target = new URL(outcome.redirectTo);
    } catch {
      target = undefined;
    }
    // Only ever on to Hi.Events: an answer that points elsewhere is not followed.
    if (!target || target.origin !== hiEventsOrigin) {
      fail(messages.unavailable ?? '');
      return;
    }
    status.textContent = 'You are signed in. Opening the ticket set-up…';
    win.location.replace(target.href);
  };
  const failUnavailable = () => fail(messages.unavailable ?? '');

  confirmButton.addEventListener('click', () => {
    confirmButton.disabled = true;
    status.textContent = 'Signing you in…';
    service.validate(link, true).then(finish, failUnavailable);
  });
  service.validate(link).then(finish, failUnavailable);
}
