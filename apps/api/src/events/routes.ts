import { CreateEventRequest, ErrorBody, EventList, EventWithHiEvents } from '@tuvens/contracts';
import { z } from 'zod';
import { canManage, listMemberships } from '../accounts/memberships.ts';
import { recordAudit } from '../audit/audit-log.ts';
import { optionalUser, requireUser } from '../auth/authenticate.ts';
import { AppError } from '../errors.ts';
import { type App, type AppContext, requestOrigin } from '../http/context.ts';
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
      return reply.status(201).send(toEventWithHiEvents(event, account.role));
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
    async (request) => {
      const user = await optionalUser(ctx, request);
      const events = await listVisibleEvents(ctx.db, user?.id);
      return { events: events.map(({ event, role }) => toEventWithHiEvents(event, role)) };
    },
  );

  app.get(
    '/api/events/:id',
    {
      schema: {
        tags: ['events'],
        summary: 'One event with its ticketing fields',
        params: EventIdParams,
        response: { 200: EventWithHiEvents, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => {
      const user = await optionalUser(ctx, request);
      const viewed = await viewEvent(ctx.db, request.params.id, user?.id);
      if (!viewed) throw new AppError('event_not_found', `No event ${request.params.id}`);
      return toEventWithHiEvents(viewed.event, viewed.role);
    },
  );
}
