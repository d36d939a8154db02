import type { MeResponse } from '@tuvens/contracts';

declare global {
  namespace App {
    interface Locals {
      /** tuvens-api's JWT from the HttpOnly session cookie; only server code ever reads it. */
      token: string | undefined;
      /** The signed-in person and their accounts, when the token is still good. */
      viewer: MeResponse | undefined;
    }
    interface Error {
      message: string;
    }
  }
}
