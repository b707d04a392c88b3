/**
 * Reading payments. A payment the caller may not read is answered exactly like one that does
 * not exist. The client secret is fetched from Stripe, only for the owner and only while the
 * customer still has to act.
 */
import { type Caller, mayRead, requireAnyScope, SCOPES } from "../auth.js";
import { PaymentNotFoundError } from "../domain/errors.js";
import { isPaymentId } from "../domain/ids.js";
import { awaitsCustomer } from "../domain/payment.js";
import type { PaymentProvider, PaymentRepository, PaymentWithHistory } from "../ports.js";

export interface ReadDeps {
  readonly repository: PaymentRepository;
  readonly provider: PaymentProvider;
}

export interface PaymentReadout extends PaymentWithHistory {
  readonly clientSecret?: string;
}

const notFound = () => new PaymentNotFoundError("No such payment.");

export async function readPayment(
  deps: ReadDeps,
  caller: Caller,
  paymentId: string,
): Promise<PaymentReadout> {
  requireAnyScope(caller, SCOPES.read, SCOPES.admin);
  if (!isPaymentId(paymentId)) throw notFound();
  const found = await deps.repository.getWithHistory(paymentId);
  if (found === undefined || !mayRead(caller, found.payment.customerId)) throw notFound();
  return await withClientSecret(deps, caller, found);
}

export async function listPaymentsForOrder(
  deps: ReadDeps,
  caller: Caller,
  orderId: string,
): Promise<PaymentReadout[]> {
  requireAnyScope(caller, SCOPES.read, SCOPES.admin);
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
