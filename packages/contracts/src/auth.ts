import { z } from 'zod';

export const Email = z
  .email()
  .max(254)
  .transform((email) => email.toLowerCase());

export const LoginRequest = z.object({
  email: Email,
  password: z.string().min(1).max(1024),
});
export type LoginRequest = z.infer<typeof LoginRequest>;

export const AccountRole = z.enum(['owner', 'admin', 'member']);
export type AccountRole = z.infer<typeof AccountRole>;

export const User = z.object({
  id: z.number().int(),
  email: z.string(),
  name: z.string(),
});
export type User = z.infer<typeof User>;

export const Membership = z.object({
  id: z.number().int(),
  name: z.string(),
  role: AccountRole,
});
export type Membership = z.infer<typeof Membership>;

export const LoginResponse = z.object({
  token: z.string(),
  user: User,
});
export type LoginResponse = z.infer<typeof LoginResponse>;

export const MeResponse = z.object({
  user: User,
  accounts: z.array(Membership),
});
export type MeResponse = z.infer<typeof MeResponse>;

/**
 * The browser's address as the web server saw it, sent by the web server on its calls to tuvens-api
 * (docs/contract.md#client-address). tuvens-api believes it only beside `WEB_SECRET_HEADER`.
 */
export const CLIENT_ADDRESS_HEADER = 'x-tuvens-client-address';
/** The web server's own secret (`WEB_API_SECRET`), which vouches for `CLIENT_ADDRESS_HEADER`. */
export const WEB_SECRET_HEADER = 'x-tuvens-web-secret';

export const ChangePasswordRequest = z.object({
  current_password: z.string().min(1).max(1024),
  new_password: z.string().min(12).max(1024),
});
export type ChangePasswordRequest = z.infer<typeof ChangePasswordRequest>;
