import { createHash } from 'node:crypto';
import {
  CHANGES_SEEN_HEADER,
  CreateEventRequest,
  ErrorBody,
  EventList,
  EventWithHiEvents,
  formatChangeCursor,
} from '@tuvens/contracts';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { canManage, listMemberships } from '../accounts/memberships.ts';
import { recordAudit } from '../audit/audit-log.ts';
import { optionalUser, requireUser } from '../auth/authenticate.ts';
import { AppError } from '../errors.ts';
import { type App, type AppContext, requestOrigin } from '../http/context.ts';
import { applyStatusChange } from '../ticketing/apply-status-change.ts';
import { changesSeenBy } from '../ticketing/change-log.ts';
import { createEvent, listVisibleEvents, toEventWithHiEvents, viewEvent } from './events.ts';

export const EventIdParams = z.object({
  id: z
    .string()
    .regex(/^[1-9][0-9]{0,9}$/, 'must be a positive whole number')
    .transform(Number)
    .pipe(z.number().max(2_147_483_647)),
});

export function registerEventRoutes(app: App, ctx: AppContext): void {
  app.post(
    '/api/events',
    {
      schema: {
        tags: ['events'],
        summary: 'Create an event in an account the signed-in user manages',
        security: [{ bearer: [] }],
        body: CreateEventRequest,
        response: { 201: EventWithHiEvents, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody },
      },
    },
    async (request, reply) => {
      const user = await requireUser(ctx, request);
      const memberships = await listMemberships(ctx.db, user.id);
      const account = request.body.account_id
        ? memberships.find((membership) => membership.id === request.body.account_id)
        : memberships.find((membership) => canManage(membership.role));
      if (!account || !canManage(account.role)) {
        throw new AppError('forbidden', 'Only an owner or admin of an account can create its events');
      }
      const event = await ctx.db.transaction().execute(async (trx) => {
        const created = await createEvent(trx, account.id, request.body);
        await recordAudit(trx, ctx.clock(), {
          action: 'event.create',
          outcome: 'success',
          actor: 'user',
          actorUserId: user.id,
          eventId: created.id,
          origin: requestOrigin(request),
        });
        return created;
      });
      return reply.status(201).send(toEventWithHiEvents(event, account.name, account.role));
    },
  );

  app.get(
    '/api/events',
    {
      schema: {
        tags: ['events'],
        summary: 'Public events, and the private events of the signed-in user’s accounts',
        response: { 200: EventList, 401: ErrorBody },
      },
    },
    async (request, reply) => {
      const user = await optionalUser(ctx, request);
      // Read before the events, so that every change after it is one the answer may not show.
      // The viewer's own cursor: the newest change they may see, not the newest of all.
      reply.header(CHANGES_SEEN_HEADER, formatChangeCursor(await changesSeenBy(ctx.db, user?.id)));
      const events = await listVisibleEvents(ctx.db, user?.id);
      return {
        events: events.map(({ event, accountName, role }) => toEventWithHiEvents(event, accountName, role)),
      };
    },
  );

  app.get(
    '/api/events/:id',
    {
      schema: {
        tags: ['events'],
        summary: 'One event with its ticketing fields; answers 304 to a matching If-None-Match',
        params: EventIdParams,
        response: {
          200: EventWithHiEvents,
          304: z.void().describe('Not modified: If-None-Match holds the current ETag'),
          400: ErrorBody,
          401: ErrorBody,
          404: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const user = await optionalUser(ctx, request);
      const changesSeen = await changesSeenBy(ctx.db, user?.id);
      const viewed = await viewEvent(ctx.db, request.params.id, user?.id);
      if (!viewed) throw new AppError('event_not_found', `No event ${request.params.id}`);
      reply.header(CHANGES_SEEN_HEADER, formatChangeCursor(changesSeen));
      const event = toEventWithHiEvents(viewed.event, viewed.accountName, viewed.role);
      const tag = entityTag(event);
      // Stored only privately (the answer depends on who asks) and revalidated on every use, so a
      // change is seen at once; the ETag keeps the revalidation cheap.
      reply.header('etag', tag).header('cache-control', 'private, no-cache');
      appendVary(reply, 'Authorization');
      if (matchesIfNoneMatch(request.headers['if-none-match'], tag)) return reply.code(304).send();
      return event;
    },
  );

  app.post(
    '/api/events/:id/ticketing/cancel',
    {
      schema: {
        tags: ['events'],
        summary: 'Turn the event’s ticketing off (setup, active or inactive → none); answers the event',
        security: [{ bearer: [] }],
        params: EventIdParams,
        response: {
          200: EventWithHiEvents,
          400: ErrorBody,
          401: ErrorBody,
          403: ErrorBody,
          404: ErrorBody,
          409: ErrorBody,
        },
      },
    },
    async (request) => {
      const action = 'ticketing.cancel';
      const eventId = request.params.id;
      const user = await requireUser(ctx, request);
      const viewed = await viewEvent(ctx.db, eventId, user.id);
      if (!viewed) throw new AppError('event_not_found', `No event ${eventId}`);
      const origin = requestOrigin(request);
      const refuse = (reason: string) =>
        recordAudit(ctx.db, ctx.clock(), {
          action,
          outcome: 'failure',
          actor: 'user',
          actorUserId: user.id,
          eventId,
          reason,
          origin,
        });
      if (!canManage(viewed.role)) {
        await refuse('not_allowed');
        throw new AppError(
          'forbidden',
          'Only an owner or admin of the event’s account can cancel its ticketing',
        );
      }

      const now = ctx.clock();
      const result = await applyStatusChange(
        ctx.db,
        {
          source: 'organizer',
          actorUserId: user.id,
          eventId,
          status: 'none',
          occurredAt: now,
          reason: 'cancelled_by_organizer',
          origin,
        },
        now,
      );
      switch (result.outcome) {
        case 'applied':
          ctx.changes.announce(result.change.id);
          return toEventWithHiEvents(result.event, viewed.accountName, viewed.role);
        case 'skipped':
          return toEventWithHiEvents(result.event, viewed.accountName, viewed.role);
        case 'unknown_event':
          throw new AppError('event_not_found', `No event ${eventId}`);
        case 'transition_not_allowed':
        case 'linked_elsewhere':
        case 'turned_off':
        case 'not_started':
          await refuse('transition_not_allowed');
          throw new AppError('transition_not_allowed', `This event's ticketing cannot be turned off now`);
      }
    },
  );
}

/** A weak validator of one viewer's answer: any field changes it, `can_manage_ticketing` included. */
function entityTag(answer: EventWithHiEvents): string {
  return `W/"${createHash('sha256').update(JSON.stringify(answer)).digest('base64url').slice(0, 32)}"`;
}

/** `If-None-Match` with weak comparison (RFC 9110 section 13.1.2). */
function matchesIfNoneMatch(header: string | undefined, tag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const opaque = tag.replace(/^W\//, '');
  return header.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === opaque);
}

/** Adds to `Vary` without dropping what others (CORS) put there. */
function appendVary(reply: FastifyReply, header: string): void {
  const current = reply.getHeader('vary');
  const values = typeof current === 'string' ? current.split(',').map((value) => value.trim()) : [];
  if (!values.some((value) => value.toLowerCase() === header.toLowerCase())) values.push(header);
  reply.header('vary', values.join(', '));
}
