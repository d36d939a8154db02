import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import type {
  HiEventsCreateEventRequest,
  HiEventsCreateOrganizerRequest,
  HiEventsCreateUserRequest,
  HiEventsEventStatus,
  HiEventsRegisterRequest,
  HiEventsRole,
  HiEventsUpdateUserRequest,
  HiEventsUpsertWebhookRequest,
  HiEventsWebhookType,
} from '@tuvens/contracts';
import { EmulatorError, forbidden, invalid, notFound } from '../http/errors.ts';
import { computeLifecycleStatus, slugify } from './lifecycle.ts';
import { productResource } from './products.ts';
import type { TaxAndFee } from './taxes-and-fees.ts';

export interface Account {
  id: number;
  name: string;
  currency_code: string;
  timezone: string;
  account_verified_at: Date | null;
  created_at: Date;
}

export interface User {
  id: number;
  first_name: string;
  last_name: string | null;
  email: string;
  password_hash: string | null;
  timezone: string;
  /** Set on registration outside SaaS mode; null for a user who was only invited (`CreateUserHandler`). */
  email_verified_at: Date | null;
  created_at: Date;
}

export interface AccountUser {
  account_id: number;
  user_id: number;
  role: HiEventsRole;
  status: 'ACTIVE' | 'INVITED' | 'INACTIVE';
  is_account_owner: boolean;
}

export interface Organizer {
  id: number;
  account_id: number;
  name: string;
  email: string;
  currency: string;
  timezone: string;
  created_at: Date;
}

export interface EventAttribute {
  name: string;
  value: string | number;
  is_public: boolean;
}

export interface HiEvent {
  id: number;
  account_id: number;
  organizer_id: number;
  user_id: number;
  title: string;
  description: string | null;
  start_date: Date;
  end_date: Date | null;
  status: HiEventsEventStatus;
  currency: string;
  timezone: string;
  attributes: EventAttribute[];
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

/** A price of a product (`ProductPriceDomainObject`): a TIERED product has several, any other one. */
export interface ProductPrice {
  id: number;
  /** Required for a tier (`UpsertProductRequest`), else null. */
  label: string | null;
  price: number;
  /** null: unlimited. */
  initial_quantity_available: number | null;
  quantity_sold: number;
  sale_start_date: Date | null;
  sale_end_date: Date | null;
}

/** A ticket type (`ProductDomainObject`); what buyers see of it is state/products.ts. */
export interface Product {
  id: number;
  event_id: number;
  title: string;
  /** `ProductPriceType`; a DONATION product's one price is the least a buyer may give. */
  type: 'PAID' | 'FREE' | 'DONATION' | 'TIERED';
  product_type: 'TICKET' | 'GENERAL';
  prices: ProductPrice[];
  /** The account's taxes and fees applied to it, in the order they were attached. */
  tax_and_fee_ids: number[];
  show_quantity_remaining: boolean;
  sale_start_date: Date | null;
  sale_end_date: Date | null;
  created_at: Date;
  deleted_at: Date | null;
}

/** What a new product is made of, checked (api/event-routes.ts `CreateProductRequest`). */
export interface NewProduct {
  title: string;
  type: Product['type'];
  product_type: Product['product_type'];
  prices: {
    price: number;
    label?: string | null | undefined;
    initial_quantity_available?: number | null | undefined;
    sale_start_date?: Date | null | undefined;
    sale_end_date?: Date | null | undefined;
  }[];
  show_quantity_remaining?: boolean | undefined;
  sale_start_date?: Date | null | undefined;
  sale_end_date?: Date | null | undefined;
  tax_and_fee_ids?: number[] | undefined;
}

/** What a new tax or fee is made of (`CreateTaxOrFeeRequest`). */
export interface NewTaxOrFee {
  name: string;
  description?: string | null | undefined;
  calculation_type: TaxAndFee['calculation_type'];
  type: TaxAndFee['type'];
  rate: number;
  is_active: boolean;
  is_default: boolean;
}

export interface Webhook {
  id: number;
  event_id: number;
  account_id: number;
  user_id: number;
  url: string;
  event_types: HiEventsWebhookType[];
  status: 'ENABLED' | 'PAUSED';
  secret: string;
  last_triggered_at: Date | null;
  last_response_code: number | null;
  last_response_body: string | null;
}

/** Who is acting: the user and account of a verified token. */
export interface Actor {
  userId: number;
  accountId: number;
  /** The `jti` of the token, which jwt-auth blacklists when Hi.Events signs a member out. */
  tokenId?: string;
}

/** Called after a change that Hi.Events reports through webhooks. */
export type DomainEventListener = (
  type: HiEventsWebhookType,
  eventId: number,
  /** The webhook's payload when it is not the event resource (a product's or an order's). */
  payload?: Record<string, unknown>,
) => void;

type IdKind = 'account' | 'user' | 'organizer' | 'event' | 'product' | 'price' | 'taxOrFee' | 'webhook';

const ROLE_RANK: Record<HiEventsRole, number> = { ORGANIZER: 1, ADMIN: 2, SUPERADMIN: 3 };

/**
 * Everything the emulated Hi.Events knows, in memory: accounts → organizers → events, users with
 * their roles in accounts, ticket types and per-event webhooks. Each operation checks what
 * Hi.Events checks and throws an `EmulatorError` with the status Hi.Events answers.
 */
export class HiEventsStore {
  readonly accounts = new Map<number, Account>();
  readonly users = new Map<number, User>();
  readonly accountUsers: AccountUser[] = [];
  readonly organizers = new Map<number, Organizer>();
  readonly events = new Map<number, HiEvent>();
  readonly products = new Map<number, Product>();
  readonly taxesAndFees = new Map<number, TaxAndFee>();
  readonly webhooks = new Map<number, Webhook>();
  /** `jti` of tokens signed out before they expired (jwt-auth's blacklist). */
  readonly revokedTokenIds = new Set<string>();

  readonly #clock: () => Date;
  readonly #listeners = new Set<DomainEventListener>();
  readonly #changeListeners = new Set<() => void>();
  #nextId: Record<IdKind, number> = {
    account: 1,
    user: 1,
    organizer: 1,
    event: 1,
    product: 1,
    price: 1,
    taxOrFee: 1,
    webhook: 1,
  };

  constructor(clock: () => Date) {
    this.#clock = clock;
  }

  now(): Date {
    return this.#clock();
  }

  onDomainEvent(listener: DomainEventListener): void {
    this.#listeners.add(listener);
  }

  /** Called after every change of state (persistence saves a snapshot then). */
  onChange(listener: () => void): void {
    this.#changeListeners.add(listener);
  }

  /** Tells the change listeners that the state changed; for code that edits records in place. */
  changed(): void {
    for (const listener of this.#changeListeners) listener();
  }

  /** Signs a token out: its `jti` joins jwt-auth's blacklist. */
  revokeToken(tokenId: string): void {
    this.revokedTokenIds.add(tokenId);
    this.changed();
  }

  #emit(type: HiEventsWebhookType, eventId: number, payload?: Record<string, unknown>): void {
    for (const listener of this.#listeners) listener(type, eventId, payload);
  }

  /** Reports a change made outside this class (state/products.ts) as Hi.Events' webhooks would. */
  announce(type: HiEventsWebhookType, eventId: number, payload: Record<string, unknown>): void {
    this.changed();
    this.#emit(type, eventId, payload);
  }

  /** Everything the store holds, as plain JSON (dates as ISO strings), for a snapshot on disk. */
  snapshot(): StoreSnapshot {
    return {
      version: 1,
      nextId: { ...this.#nextId },
      accounts: [...this.accounts.values()],
      users: [...this.users.values()],
      accountUsers: this.accountUsers,
      organizers: [...this.organizers.values()],
      events: [...this.events.values()],
      products: [...this.products.values()],
      taxesAndFees: [...this.taxesAndFees.values()],
      webhooks: [...this.webhooks.values()],
      revokedTokenIds: [...this.revokedTokenIds],
    };
  }

  /** Replaces the state with a snapshot's, as read back from disk. */
  restore(snapshot: StoreSnapshot): void {
    const revive = <T>(rows: unknown[]): T[] => rows.map((row) => reviveDates(row) as T);
    const fill = <T extends { id: number }>(map: Map<number, T>, rows: unknown[]) => {
      map.clear();
      for (const row of revive<T>(rows)) map.set(row.id, row);
    };
    this.#nextId = { ...this.#nextId, ...snapshot.nextId };
    fill(this.accounts, snapshot.accounts);
    fill(this.users, snapshot.users);
    this.accountUsers.splice(0, this.accountUsers.length, ...revive<AccountUser>(snapshot.accountUsers));
    fill(this.organizers, snapshot.organizers);
    fill(this.events, snapshot.events);
    fill(this.products, snapshot.products.map(upgradeProduct));
    fill(this.taxesAndFees, snapshot.taxesAndFees ?? []);
    fill(this.webhooks, snapshot.webhooks);
    // A snapshot from before prices had their own ids numbered them as their products.
    const priceIds = [...this.products.values()].flatMap((product) =>
      product.prices.map((price) => price.id),
    );
    this.#nextId.price = Math.max(this.#nextId.price, ...priceIds.map((id) => id + 1));
    this.revokedTokenIds.clear();
    for (const id of snapshot.revokedTokenIds) this.revokedTokenIds.add(id);
  }

  #id(kind: IdKind): number {
    const id = this.#nextId[kind];
    this.#nextId[kind] = id + 1;
    return id;
  }

  // Accounts and users (`CreateAccountHandler`, `CreateUserHandler`).

  /**
   * `POST /auth/register` (`CreateAccountHandler`): a new account whose owner is a new user, or an
   * existing user (by lowercased email) who owns no account yet (`getExistingUser`). In that second
   * case the password given is not theirs, so the sign-in that `CreateAccountAction` runs next fails:
   * `existingUser` tells the route to answer 401 although the account now exists.
   */
  register(input: HiEventsRegisterRequest): { account: Account; user: User; existingUser: boolean } {
    const email = input.email.toLowerCase();
    const existing = this.findUserByEmail(email);
    if (existing && this.accountUsers.some((row) => row.user_id === existing.id && row.is_account_owner)) {
      throw invalid(
        'email',
        'There is already an account associated with this email. Please log in instead.',
      );
    }
    const now = this.now();
    const account: Account = {
      id: this.#id('account'),
      name: [input.first_name, input.last_name].filter(Boolean).join(' '),
      currency_code: input.currency_code ?? 'USD',
      timezone: input.timezone ?? 'UTC',
      // Hi.Events verifies an account once its owner confirms their email; the emulator sends no email.
      account_verified_at: now,
      created_at: now,
    };
    const user: User = existing ?? {
      id: this.#id('user'),
      first_name: input.first_name,
      last_name: input.last_name ?? null,
      email,
      password_hash: hashPassword(input.password),
      timezone: account.timezone,
      email_verified_at: now,
      created_at: now,
    };
    this.accounts.set(account.id, account);
    this.users.set(user.id, user);
    this.accountUsers.push({
      account_id: account.id,
      user_id: user.id,
      role: 'ADMIN',
      status: 'ACTIVE',
      is_account_owner: true,
    });
    this.changed();
    return { account, user, existingUser: existing !== undefined };
  }

  /** The user and account of a password sign-in, or undefined when either is wrong. */
  checkPassword(email: string, password: string): User | undefined {
    const user = this.findUserByEmail(email.toLowerCase());
    const matches = verifyPassword(password, user?.password_hash ?? null);
    return user && matches ? user : undefined;
  }

  findUserByEmail(email: string): User | undefined {
    for (const user of this.users.values()) if (user.email === email) return user;
    return undefined;
  }

  membership(userId: number, accountId: number): AccountUser | undefined {
    return this.accountUsers.find((row) => row.user_id === userId && row.account_id === accountId);
  }

  accountsOf(userId: number): Account[] {
    return this.accountUsers
      .filter((row) => row.user_id === userId)
      .map((row) => this.accounts.get(row.account_id)!)
      .filter(Boolean);
  }

  /** The actor's role in their account; a token for an account the user left is refused. */
  requireRole(actor: Actor, minimum: HiEventsRole = 'ORGANIZER'): AccountUser {
    const membership = this.membership(actor.userId, actor.accountId);
    if (!membership) throw forbidden();
    if (ROLE_RANK[membership.role] < ROLE_RANK[minimum]) throw forbidden();
    return membership;
  }

  /**
   * What `IsAuthorizedService::isActionAuthorized` checks before any action on an entity: the
   * membership must be `ACTIVE` (`validateUserStatus`), else the token is signed out (blacklisted)
   * and the answer is 403; then the role (`validateUserRole`). Actions that only call
   * `minimumAllowedRole` (creating an organizer, an event, a user) check the role alone.
   */
  authorize(actor: Actor, minimum: HiEventsRole = 'ORGANIZER'): AccountUser {
    const membership = this.membership(actor.userId, actor.accountId);
    if (!membership) throw forbidden();
    if (membership.status !== 'ACTIVE') {
      if (actor.tokenId) this.revokedTokenIds.add(actor.tokenId);
      this.changed();
      throw forbidden('Your account is not active.');
    }
    if (ROLE_RANK[membership.role] < ROLE_RANK[minimum]) {
      throw forbidden('You are not authorized to perform this action.');
    }
    return membership;
  }

  /**
   * `POST /users` (`CreateUserHandler`): adds a user to the actor's account as `INVITED` and emails
   * them an invitation (the emulator sends none). The existing user is looked up by the email exactly
   * as given (`getExistingUser` does not lowercase it); when found, that existing person joins the
   * account. A new user is stored with the email lowercased and no password.
   */
  createUser(actor: Actor, input: HiEventsCreateUserRequest): { user: User; membership: AccountUser } {
    this.requireRole(actor, 'ADMIN');
    let user = this.findUserByEmail(input.email);
    if (user && this.membership(user.id, actor.accountId)) {
      throw invalid('email', `The email ${input.email} already exists on this account`);
    }
    if (!user) {
      user = {
        id: this.#id('user'),
        first_name: input.first_name,
        last_name: input.last_name ?? null,
        email: input.email.toLowerCase(),
        password_hash: null,
        timezone: this.accounts.get(actor.accountId)?.timezone ?? 'UTC',
        email_verified_at: null,
        created_at: this.now(),
      };
      this.users.set(user.id, user);
    }
    const membership: AccountUser = {
      account_id: actor.accountId,
      user_id: user.id,
      role: input.role,
      status: 'INVITED',
      is_account_owner: false,
    };
    this.accountUsers.push(membership);
    this.changed();
    return { user, membership };
  }

  /**
   * `PUT /users/{user_id}` (`UpdateUserAction`, `UpdateUserHandler`): an ADMIN of the account sets a
   * member's names, role and status. The owner's role stays ADMIN and their status ACTIVE; both
   * refusals are a 422 on `role`. A user outside the account is a 403 (`validateUserUpdate`).
   */
  updateUser(
    actor: Actor,
    userId: number,
    input: HiEventsUpdateUserRequest,
  ): { user: User; membership: AccountUser } {
    this.authorize(actor, 'ADMIN');
    const user = this.users.get(userId);
    const membership = this.membership(userId, actor.accountId);
    if (!user || !membership) throw forbidden();
    if (input.role !== 'ADMIN' && membership.is_account_owner) {
      throw invalid('role', 'You cannot update the role of the account owner');
    }
    if (input.status !== 'ACTIVE' && membership.is_account_owner) {
      throw invalid('role', 'You cannot update the status of the account owner');
    }
    user.first_name = input.first_name;
    user.last_name = input.last_name;
    membership.role = input.role;
    membership.status = input.status;
    this.changed();
    return { user, membership };
  }

  // Organizers (`CreateOrganizerHandler`).

  createOrganizer(actor: Actor, input: HiEventsCreateOrganizerRequest): Organizer {
    this.requireRole(actor);
    const organizer: Organizer = {
      id: this.#id('organizer'),
      account_id: actor.accountId,
      name: input.name,
      email: input.email,
      currency: input.currency,
      timezone: input.timezone,
      created_at: this.now(),
    };
    this.organizers.set(organizer.id, organizer);
    this.changed();
    return organizer;
  }

  organizer(actor: Actor, id: number): Organizer {
    this.authorize(actor);
    const organizer = this.organizers.get(id);
    if (!organizer) throw notFound('Organizer');
    if (organizer.account_id !== actor.accountId) throw forbidden();
    return organizer;
  }

  // Events (`CreateEventHandler`, `UpdateEventStatusHandler`, `EventDeletionService`).

  createEvent(actor: Actor, input: HiEventsCreateEventRequest): HiEvent {
    this.requireRole(actor);
    const organizer = this.organizers.get(input.organizer_id);
    if (!organizer || organizer.account_id !== actor.accountId) {
      throw invalid('organizer_id', 'Organizer not found');
    }
    const start = parseDate(input.start_date, 'start_date');
    const end = input.end_date ? parseDate(input.end_date, 'end_date') : null;
    if (end && start > end) {
      throw invalid('start_date', 'The start date must be a date before or equal to end date.');
    }
    const now = this.now();
    const event: HiEvent = {
      id: this.#id('event'),
      account_id: actor.accountId,
      organizer_id: organizer.id,
      user_id: actor.userId,
      title: input.title,
      description: input.description ?? null,
      start_date: start,
      end_date: end,
      status: 'DRAFT',
      currency: input.currency ?? organizer.currency,
      timezone: input.timezone ?? organizer.timezone,
      attributes: input.attributes ?? [],
      created_at: now,
      updated_at: now,
      deleted_at: null,
    };
    this.events.set(event.id, event);
    this.changed();
    this.#emit('event.created', event.id);
    return event;
  }

  /** An event of the actor's account; a deleted or unknown one is a 404, another account's a 403. */
  event(actor: Actor, id: number): HiEvent {
    this.authorize(actor);
    const event = this.events.get(id);
    if (!event || event.deleted_at) throw notFound('Event');
    if (event.account_id !== actor.accountId) throw forbidden();
    return event;
  }

  eventsOf(actor: Actor, organizerId?: number): HiEvent[] {
    this.requireRole(actor);
    return [...this.events.values()].filter(
      (event) =>
        event.account_id === actor.accountId &&
        !event.deleted_at &&
        (organizerId === undefined || event.organizer_id === organizerId),
    );
  }

  updateEventStatus(actor: Actor, id: number, status: HiEventsEventStatus): HiEvent {
    const event = this.event(actor, id);
    const account = this.accounts.get(actor.accountId);
    if (!account?.account_verified_at) {
      throw new EmulatorError(
        422,
        'account_not_verified',
        "You must verify your account before you can update an event's status.",
      );
    }
    event.status = status;
    event.updated_at = this.now();
    this.changed();
    this.#emit(status === 'ARCHIVED' ? 'event.archived' : 'event.updated', event.id);
    return event;
  }

  deleteEvent(actor: Actor, id: number): void {
    const event = this.event(actor, id);
    this.authorize(actor, 'ADMIN');
    event.deleted_at = this.now();
    this.changed();
  }

  /**
   * An event as the public sees it (`GetEventPublicAction::canUserViewEvent`): while it is live, or
   * at any status to a signed-in member of its account; otherwise a 404.
   */
  publicEvent(id: number, viewer?: Actor): HiEvent {
    const event = this.events.get(id);
    if (!event || event.deleted_at) throw notFound('Event');
    const member =
      viewer !== undefined &&
      viewer.accountId === event.account_id &&
      this.membership(viewer.userId, viewer.accountId) !== undefined;
    if (event.status !== 'LIVE' && !member) throw notFound('Event');
    return event;
  }

  // Products: the ticket types of an event (`CreateProductHandler`, `DeleteProductHandler`).

  /**
   * `CreateProductHandler` / `CreateProductService`: a FREE product's prices are 0; the taxes and fees
   * must all be active ones of the actor's account (`TaxAndProductAssociationService`), else a 422 on
   * `tax_and_fee_ids`.
   */
  createProduct(actor: Actor, eventId: number, input: NewProduct): Product {
    this.event(actor, eventId);
    const taxAndFeeIds = input.tax_and_fee_ids ?? [];
    const known = taxAndFeeIds.filter((id) => {
      const taxOrFee = this.taxesAndFees.get(id);
      return taxOrFee?.account_id === actor.accountId && taxOrFee.is_active && !taxOrFee.deleted_at;
    });
    if (known.length !== taxAndFeeIds.length) {
      throw invalid('tax_and_fee_ids', 'One or more tax IDs are invalid');
    }
    const product: Product = {
      id: this.#id('product'),
      event_id: eventId,
      title: input.title,
      type: input.type,
      product_type: input.product_type,
      prices: input.prices.map((price) => ({
        id: this.#id('price'),
        label: price.label ?? null,
        price: input.type === 'FREE' ? 0 : price.price,
        initial_quantity_available: price.initial_quantity_available ?? null,
        quantity_sold: 0,
        sale_start_date: price.sale_start_date ?? null,
        sale_end_date: price.sale_end_date ?? null,
      })),
      tax_and_fee_ids: [...new Set(taxAndFeeIds)],
      show_quantity_remaining: input.show_quantity_remaining ?? false,
      sale_start_date: input.sale_start_date ?? null,
      sale_end_date: input.sale_end_date ?? null,
      created_at: this.now(),
      deleted_at: null,
    };
    this.products.set(product.id, product);
    this.changed();
    this.#emit('product.created', eventId, productResource(this, product));
    return product;
  }

  productsOf(eventId: number): Product[] {
    return [...this.products.values()].filter(
      (product) => product.event_id === eventId && !product.deleted_at,
    );
  }

  deleteProduct(actor: Actor, eventId: number, productId: number): void {
    this.event(actor, eventId);
    const product = this.products.get(productId);
    if (!product || product.deleted_at || product.event_id !== eventId) throw notFound('Product');
    product.deleted_at = this.now();
    this.changed();
    this.#emit('product.deleted', eventId, productResource(this, product));
  }

  // Taxes and fees of an account (`CreateTaxOrFeeHandler`, `GetTaxOrFeeAction`).

  /**
   * `POST /accounts/{account_id}/taxes-and-fees`: only in the actor's own account (`isActionAuthorized`
   * on the account: 403 otherwise); a name the account already uses is a 422 on `name`
   * (`DuplicateTaxService`).
   */
  createTaxOrFee(actor: Actor, accountId: number, input: NewTaxOrFee): TaxAndFee {
    this.authorize(actor);
    if (accountId !== actor.accountId) throw forbidden();
    const duplicate = [...this.taxesAndFees.values()].some(
      (taxOrFee) => taxOrFee.account_id === accountId && taxOrFee.name === input.name && !taxOrFee.deleted_at,
    );
    if (duplicate) throw invalid('name', `The name '${input.name}' already exists`);
    const taxOrFee: TaxAndFee = {
      id: this.#id('taxOrFee'),
      account_id: accountId,
      name: input.name,
      description: input.description ?? null,
      calculation_type: input.calculation_type,
      rate: input.rate,
      is_active: input.is_active,
      is_default: input.is_default,
      type: input.type,
      created_at: this.now(),
      deleted_at: null,
    };
    this.taxesAndFees.set(taxOrFee.id, taxOrFee);
    this.changed();
    return taxOrFee;
  }

  taxesAndFeesOf(actor: Actor, accountId: number): TaxAndFee[] {
    this.authorize(actor);
    if (accountId !== actor.accountId) throw forbidden();
    return [...this.taxesAndFees.values()].filter(
      (taxOrFee) => taxOrFee.account_id === accountId && !taxOrFee.deleted_at,
    );
  }

  // Webhooks (`CreateWebhookHandler`, `WebhookDispatchService`).

  createWebhook(actor: Actor, eventId: number, input: HiEventsUpsertWebhookRequest): Webhook {
    this.event(actor, eventId);
    const webhook: Webhook = {
      id: this.#id('webhook'),
      event_id: eventId,
      account_id: actor.accountId,
      user_id: actor.userId,
      url: input.url,
      event_types: input.event_types,
      status: input.status ?? 'ENABLED',
      secret: randomBytes(16).toString('hex'),
      last_triggered_at: null,
      last_response_code: null,
      last_response_body: null,
    };
    this.webhooks.set(webhook.id, webhook);
    this.changed();
    return webhook;
  }

  webhook(actor: Actor, eventId: number, webhookId: number): Webhook {
    this.event(actor, eventId);
    const webhook = this.webhooks.get(webhookId);
    if (!webhook || webhook.event_id !== eventId) throw notFound('Webhook');
    return webhook;
  }

  webhooksOf(actor: Actor, eventId: number): Webhook[] {
    this.event(actor, eventId);
    return [...this.webhooks.values()].filter((webhook) => webhook.event_id === eventId);
  }

  deleteWebhook(actor: Actor, eventId: number, webhookId: number): void {
    this.webhook(actor, eventId, webhookId);
    this.webhooks.delete(webhookId);
    this.changed();
  }

  /** The enabled webhooks of an event that subscribe to a type (`WebhookDispatchService::dispatchWebhook`). */
  webhooksFor(eventId: number, type: HiEventsWebhookType): Webhook[] {
    return [...this.webhooks.values()].filter(
      (webhook) =>
        webhook.event_id === eventId && webhook.status === 'ENABLED' && webhook.event_types.includes(type),
    );
  }

  lifecycleOf(event: HiEvent) {
    return computeLifecycleStatus(event.start_date, event.end_date, this.now());
  }

  slugOf(event: HiEvent): string {
    return slugify(event.title);
  }
}

/** The store as JSON: what `snapshot` writes and `restore` reads. */
export interface StoreSnapshot {
  version: 1;
  nextId: Record<IdKind, number>;
  accounts: unknown[];
  users: unknown[];
  accountUsers: unknown[];
  organizers: unknown[];
  events: unknown[];
  products: unknown[];
  /** Absent from snapshots written before taxes and fees were emulated. */
  taxesAndFees?: unknown[];
  webhooks: unknown[];
  revokedTokenIds: string[];
}

/**
 * A product as stored before products had several prices: its one price (quantity, sold count) lived on
 * the product, and its id was the product's.
 */
function upgradeProduct(row: unknown): unknown {
  const product = row as Record<string, unknown>;
  if (Array.isArray(product.prices)) {
    return {
      ...product,
      prices: product.prices.map((price) => reviveDates(price)),
    };
  }
  const { price, initial_quantity_available, quantity_sold, ...rest } = product;
  return {
    ...rest,
    tax_and_fee_ids: [],
    show_quantity_remaining: product.show_quantity_remaining ?? false,
    sale_start_date: product.sale_start_date ?? null,
    sale_end_date: product.sale_end_date ?? null,
    prices: [
      {
        id: product.id,
        label: null,
        price: price ?? 0,
        initial_quantity_available: initial_quantity_available ?? null,
        quantity_sold: quantity_sold ?? 0,
        sale_start_date: null,
        sale_end_date: null,
      },
    ],
  };
}

const DATE_FIELD = /(_at|_date)$/;

function reviveDates(row: unknown): unknown {
  const copy = { ...(row as Record<string, unknown>) };
  for (const [key, value] of Object.entries(copy)) {
    if (DATE_FIELD.test(key) && typeof value === 'string') copy[key] = new Date(value);
  }
  return copy;
}

function parseDate(value: string, field: string): Date {
  // Laravel reads a date without an offset in the application's timezone, UTC in Hi.Events.
  const text = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value.replace(' ', 'T')}Z`;
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) {
    throw invalid(field, `The ${field.replace('_', ' ')} field must be a valid date.`);
  }
  return date;
}

function hashPassword(password: string): string {
  const salt = randomBytes(16);
  return `${salt.toString('hex')}:${scryptSync(password, salt, 32).toString('hex')}`;
}

function verifyPassword(password: string, stored: string | null): boolean {
  const [salt, hash] = (stored ?? `${'0'.repeat(32)}:${'0'.repeat(64)}`).split(':');
  const computed = scryptSync(password, Buffer.from(salt!, 'hex'), 32);
  return timingSafeEqual(computed, Buffer.from(hash!, 'hex')) && stored !== null;
}
