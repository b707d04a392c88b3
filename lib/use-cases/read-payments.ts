/**
 * Reading payments (the route's scopes are checked by the HTTP stack, from infra/routes.ts; the
 * finer rules are here). A payment the caller may not read is answered exactly like one that does
 * not exist. The client secret is fetched from Stripe, only for the owner and only while the
 * customer still has to act.
 *
 * By PaymentIntent: no PaymentIntent → payment mapping is written any more; the payment id is in
 * the PaymentIntent's metadata (`payment_id`, set at creation). So a search reads the legacy
 * mapping item (payments created before 2026-12-07 have one), and without one asks Stripe for
 * the PaymentIntent (one GET) and reads the payment its metadata names; either way the payment
 * is answered only if its own PaymentIntent is the one searched for (a PaymentIntent made
 * elsewhere may name any payment).
 */
import { type Caller, hasScope, mayRead, requireAnyScope, SCOPES } from "../auth.js";
import type { AuditEntry } from "../domain/audit.js";
import { PaymentNotFoundError, ProviderRejectedError } from "../domain/errors.js";
import { isPaymentId } from "../domain/ids.js";
import { awaitsCustomer } from "../domain/payment.js";
import type { Refund } from "../domain/refunds.js";
import type {
  OutboxSummary,
  Page,
  PageRequest,
  PaymentProvider,
  PaymentRepository,
  PaymentWithHistory,
} from "../ports.js";
import type { ListPaymentsQuery } from "../schemas.js";

export interface ReadDeps {
  readonly repository: PaymentRepository;
  readonly provider: PaymentProvider;
}

export interface PaymentReadout extends PaymentWithHistory {
  readonly clientSecret?: string;
  /** For admins: the refunds and the outgoing events (published or not). */
  readonly admin?: {
    readonly refunds: readonly Refund[];
    readonly events: readonly OutboxSummary[];
  };
}

const notFound = () => new PaymentNotFoundError("No such payment.");

export async function readPayment(
  deps: ReadDeps,
  caller: Caller,
  paymentId: string,
): Promise<PaymentReadout> {
  if (!isPaymentId(paymentId)) throw notFound();
  const found = await deps.repository.getWithHistory(paymentId);
  if (found === undefined || !mayRead(caller, found.payment.customerId)) throw notFound();
  const readout = await withClientSecret(deps, caller, found);
  if (!hasScope(caller, SCOPES.admin)) return readout;
  const [refunds, events] = await Promise.all([
    deps.repository.listRefunds(paymentId),
    deps.repository.listOutbox(paymentId),
  ]);
  return { ...readout, admin: { refunds, events } };
}

/**
 * GET /api/payments: by order (with the owner's client secret, as before), by customer or by
 * PaymentIntent, or (admins only) the recent list. Payments the caller may not read are left out,
 * exactly as if they did not exist.
 */
export async function findPayments(
  deps: ReadDeps,
  caller: Caller,
  query: ListPaymentsQuery,
): Promise<Page<PaymentReadout>> {
  const page: PageRequest = { cursor: query.cursor, limit: query.limit };
  if (query.orderId !== undefined)
    return { items: await listPaymentsForOrder(deps, caller, query.orderId) };
  if (query.stripePaymentIntentId !== undefined) {
    const found = await paymentOfIntent(deps, query.stripePaymentIntentId);
    return {
      items: found !== undefined && mayRead(caller, found.payment.customerId) ? [found] : [],
    };
  }
  if (query.customerId !== undefined) {
    // Only an admin may list another customer's payments; anyone else sees none.
    if (!hasScope(caller, SCOPES.admin) && query.customerId !== caller.sub) return { items: [] };
    const ids = await deps.repository.paymentIdsForCustomer(query.customerId, page);
    return { ...ids, items: await readable(deps, caller, ids.items) };
  }
  requireAnyScope(caller, SCOPES.admin);
  const ids = await deps.repository.recentPaymentIds({
    ...page,
    statuses: query.status === undefined ? [] : [query.status],
    from: query.from,
    to: query.to,
  });
  return { ...ids, items: await readable(deps, caller, ids.items) };
}

/**
 * The payment of a PaymentIntent, with its history: named by the legacy mapping item, else by
 * the PaymentIntent's metadata at Stripe; only if that payment holds this PaymentIntent.
 */
async function paymentOfIntent(
  deps: ReadDeps,
  paymentIntentId: string,
): Promise<PaymentWithHistory | undefined> {
  let paymentId = await deps.repository.paymentIdForIntent(paymentIntentId);
  if (paymentId === undefined) {
    try {
      paymentId = (await deps.provider.retrieveIntent(paymentIntentId)).metadata.payment_id;
    } catch (error) {
      // Stripe does not know it (another account's, a typo): no payment of ours has it.
      if (error instanceof ProviderRejectedError) return undefined;
      throw error;
    }
  }
  if (paymentId === undefined || !isPaymentId(paymentId)) return undefined;
  const found = await deps.repository.getWithHistory(paymentId);
  return found?.payment.stripePaymentIntentId === paymentIntentId ? found : undefined;
}

/** The payments of `ids` the caller may read, in that order (read in parallel). */
async function readable(
  deps: ReadDeps,
  caller: Caller,
  ids: readonly string[],
): Promise<PaymentReadout[]> {
  const found = await Promise.all(ids.map((id) => deps.repository.getWithHistory(id)));
  return found.filter(
    (f): f is PaymentWithHistory => f !== undefined && mayRead(caller, f.payment.customerId),
  );
}

/** GET /api/payments/{id}/audit: admins only; a payment that does not exist is 404. */
export async function readAudit(
  deps: Pick<ReadDeps, "repository">,
  paymentId: string,
  page: PageRequest,
): Promise<Page<AuditEntry>> {
  if (!isPaymentId(paymentId) || (await deps.repository.get(paymentId)) === undefined)
    throw notFound();
  return await deps.repository.listAudit(paymentId, page);
}

export async function listPaymentsForOrder(
  deps: ReadDeps,
  caller: Caller,
  orderId: string,
): Promise<PaymentReadout[]> {
  const paymentId = await deps.repository.paymentIdForOrder(orderId);
  if (paymentId === undefined) return [];
  const found = await deps.repository.getWithHistory(paymentId);
  if (found === undefined || !mayRead(caller, found.payment.customerId)) return [];
  return [await withClientSecret(deps, caller, found)];
}

async function withClientSecret(
  deps: ReadDeps,
  caller: Caller,
  found: PaymentWithHistory,
): Promise<PaymentReadout> {
  const { payment } = found;
  if (payment.customerId !== caller.sub || !awaitsCustomer(payment.status)) return found;
  return {
    ...found,
    clientSecret: await deps.provider.clientSecret(payment.stripePaymentIntentId),
  };
}
