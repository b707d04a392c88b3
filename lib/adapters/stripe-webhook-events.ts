/**
 * The Stripe event types the webhook endpoint subscribes to: the smallest set that keeps every
 * lifecycle rule true (each delivery costs an API Gateway request and a Lambda invocation, so an
 * event that changes nothing is paid for and wasted).
 *
 *   payment_intent.processing                 -> processing
 *   payment_intent.requires_action            -> requires_action (3-D Secure)
 *   payment_intent.amount_capturable_updated  -> authorized (manual capture)
 *   payment_intent.succeeded                  -> captured, with the amount received (a partial
 *                                                capture too; also authorized if not yet)
 *   payment_intent.payment_failed             -> failed, with the decline or authentication code
 *   payment_intent.canceled                   -> canceled
 *   charge.refunded                           -> refunds made anywhere (the Dashboard too): the
 *                                                handler re-reads the PaymentIntent's refunds
 *   refund.updated                            -> a pending refund that succeeds, fails or is canceled
 *   charge.dispute.created / .updated / .closed -> the dispute, its status, its decision
 *
 * Left out, because one of the above says the same: payment_intent.created (the record is
 * written by the create itself), charge.succeeded / .captured / .pending / .failed / .updated
 * (the PaymentIntent events carry the same status and amounts; a capture through the API is
 * applied from Stripe's answer), refund.created and charge.refund.updated (charge.refunded and
 * refund.updated), refund.failed (refund.updated is sent with it), charge.dispute.funds_withdrawn
 * and .funds_reinstated (the dispute's status). The handler still understands them, so an
 * endpoint subscribed to more (`charge.*`) stays correct, only dearer.
 *
 * `tests/support/stack.ts` makes every test stack's simulator send only these, so the webhook,
 * lifecycle, event and load suites prove the set; `npm run stripe:webhook-endpoint` subscribes a
 * real endpoint to exactly these.
 */
export const WEBHOOK_EVENT_TYPES = [
  "payment_intent.processing",
  "payment_intent.requires_action",
  "payment_intent.amount_capturable_updated",
  "payment_intent.succeeded",
  "payment_intent.payment_failed",
  "payment_intent.canceled",
  "charge.refunded",
  "refund.updated",
  "charge.dispute.created",
  "charge.dispute.updated",
  "charge.dispute.closed",
] as const;
