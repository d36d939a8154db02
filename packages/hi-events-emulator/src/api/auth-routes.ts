import {
  HI_EVENTS_AUTH_TOKEN_HEADER,
  HiEventsCreateUserRequest,
  HiEventsRegisterRequest,
  HiEventsUpdateUserRequest,
} from '@tuvens/contracts';
import { z } from 'zod';
import { issueToken, requestToken, requireActor, tokenCookie, verifyToken } from '../auth/tokens.ts';
import {
  type Emulator,
  type EmulatorContext,
  type FastifyReply,
  type FastifyRequest,
  idParam,
  parseWith,
} from '../http/context.ts';
import { EmulatorError } from '../http/errors.ts';
import { accountResource, userResource } from './resources.ts';

const LoginRequest = z.object({
  email: z.email(),
  password: z.string().min(1),
  account_id: z.number().int().positive().optional(),
});

/** Sign-up, sign-in, sign-out and users (`backend/routes/api.php`, `Http/Actions/Auth`, `Http/Actions/Users`). */
export function registerAuthRoutes(app: Emulator, ctx: EmulatorContext): void {
  const { store, tokens } = ctx;

  // `CreateAccountAction`: the account is the answer; the new owner's token rides in `X-Auth-Token`.
  app.post('/api/auth/register', async (request, reply) => {
    const input = parseWith(HiEventsRegisterRequest, request.body);
    const { account, user, existingUser } = store.register(input);
    // The sign-in that follows uses the password just given; an existing user's own password differs,
    // so Hi.Events answers 401 and the account stays, owned by that user (`CreateAccountAction`).
    if (existingUser) throw new EmulatorError(401, 'unauthorized', 'Username or Password are incorrect');
    const token = await issueToken(tokens, {
      userId: user.id,
      accountId: account.id,
      role: 'ADMIN',
      now: store.now(),
    });
    return reply
      .status(201)
      .header(HI_EVENTS_AUTH_TOKEN_HEADER, token)
      .send({ data: accountResource(account) });
  });

  // `LoginAction` / `LoginService`: a user of one account gets a token for it; of several, names one.
  app.post('/api/auth/login', async (request, reply) => {
    const input = parseWith(LoginRequest, request.body);
    const user = store.checkPassword(input.email, input.password);
    if (!user) throw new EmulatorError(401, 'unauthorized', 'Username or Password are incorrect');
    const accounts = store.accountsOf(user.id);
    const account =
      accounts.length === 1 ? accounts[0] : accounts.find((candidate) => candidate.id === input.account_id);
    const membership = account ? store.membership(user.id, account.id) : undefined;
    const token =
      account && membership
        ? await issueToken(tokens, {
            userId: user.id,
            accountId: account.id,
            role: membership.role,
            now: store.now(),
          })
        : null;
    if (token) reply.header('set-cookie', tokenCookie(token, tokens.ttlSeconds));
    return reply.send({
      token,
      token_type: 'bearer',
      expires_in: tokens.ttlSeconds,
      user: userResource(user, membership),
      accounts: accounts.map(accountResource),
    });
  });

  // `LogoutAction`: the token joins jwt-auth's blacklist, the cookie is cleared, 200 `{message}`.
  const logout = async (request: FastifyRequest, reply: FastifyReply) => {
    const token = requestToken(request);
    const verified = token ? await verifyToken(tokens, store, token) : undefined;
    if (verified) store.revokeToken(verified.claims.jti);
    return reply.header('set-cookie', tokenCookie('', 0)).status(200).send({ message: 'Logout Successful' });
  };
  app.post('/api/auth/logout', logout);
  app.get('/api/auth/logout', logout);

  app.get('/api/users/me', async (request) => {
    const { actor } = await requireActor(tokens, store, request);
    const user = store.users.get(actor.userId)!;
    return { data: userResource(user, store.membership(user.id, actor.accountId)) };
  });

  // `CreateUserAction`: an admin adds someone to their account; Hi.Events emails them an invitation.
  app.post('/api/users', async (request, reply) => {
    const { actor } = await requireActor(tokens, store, request);
    const input = parseWith(HiEventsCreateUserRequest, request.body);
    const { user, membership } = store.createUser(actor, input);
    return reply.status(201).send({ data: userResource(user, membership) });
  });

  // `UpdateUserAction`: an admin sets a member's names, role and status (`ACTIVE` or `INACTIVE`).
  app.put('/api/users/:user_id', async (request) => {
    const { actor } = await requireActor(tokens, store, request);
    const input = parseWith(HiEventsUpdateUserRequest, request.body);
    const { user, membership } = store.updateUser(actor, idParam(request, 'user_id'), input);
    return { data: userResource(user, membership) };
  });
}
