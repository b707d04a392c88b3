/** Stripe's test PaymentMethods the simulator understands, and how each behaves. */

export type CardOutcome =
  | { kind: "success" }
  | { kind: "processing" }
  /** 3-D Secure: the PaymentIntent waits in `requires_action` until the customer authenticates. */
  | { kind: "authenticate" }
  | {
      kind: "decline";
      code: string;
      declineCode: string;
      message: string;
      param?: string;
    };

export interface TestCard {
  token: string;
  brand: "visa" | "mastercard" | "amex";
  last4: string;
  funding: "credit" | "debit";
  country: string;
  outcome: CardOutcome;
  /** Charges succeed but refunds end up `failed` (Stripe's `pm_card_refundFail`). */
  refundFails: boolean;
  /** The charge succeeds, then the cardholder disputes it (Stripe's `pm_card_createDispute`). */
  disputes?: boolean;
}

const success: CardOutcome = { kind: "success" };

function card(
  token: string,
  brand: TestCard["brand"],
  last4: string,
  outcome: CardOutcome = success,
  extra: Partial<TestCard> = {},
): TestCard {
  return {
    token,
    brand,
    last4,
    funding: "credit",
    country: "US",
    outcome,
    refundFails: false,
    ...extra,
  };
}

function decline(code: string, declineCode: string, message: string, param?: string): CardOutcome {
  return { kind: "decline", code, declineCode, message, ...(param === undefined ? {} : { param }) };
}

export const TEST_CARDS: readonly TestCard[] = [
  card("pm_card_visa", "visa", "4242"),
  // Stripe's 3-D Secure test cards (4000 0000 0000 3220, 4000 0027 6000 3184): authentication
  // is required on every payment; POST /_simulator/payment_intents/{id}/authenticate settles it.
  card(
    "pm_card_threeDSecure2Required",
    "visa",
    "3220",
    { kind: "authenticate" },
    { country: "IE" },
  ),
  card(
    "pm_card_authenticationRequired",
    "visa",
    "3184",
    { kind: "authenticate" },
    { country: "IE" },
  ),
  card("pm_card_visa_debit", "visa", "5556", success, { funding: "debit" }),
  // 4000 0000 0000 0259: the payment succeeds, then a fraudulent dispute is opened on it.
  card("pm_card_createDispute", "visa", "0259", success, { disputes: true }),
  card("pm_card_mastercard", "mastercard", "4444"),
  card("pm_card_amex", "amex", "8431"),
  card(
    "pm_card_chargeDeclined",
    "visa",
    "0002",
    decline("card_declined", "generic_decline", "Your card was declined."),
  ),
  card(
    "pm_card_chargeDeclinedInsufficientFunds",
    "visa",
    "9995",
    decline("card_declined", "insufficient_funds", "Your card has insufficient funds."),
  ),
  card(
    "pm_card_chargeDeclinedFraudulent",
    "visa",
    "0019",
    decline("card_declined", "fraudulent", "Your card was declined."),
  ),
  card(
    "pm_card_chargeDeclinedExpiredCard",
    "visa",
    "0069",
    decline("expired_card", "expired_card", "Your card has expired.", "exp_month"),
  ),
  card(
    "pm_card_chargeDeclinedIncorrectCvc",
    "visa",
    "0127",
    decline("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect.", "cvc"),
  ),
  card(
    "pm_card_chargeDeclinedProcessingError",
    "visa",
    "0119",
    decline(
      "processing_error",
      "processing_error",
      "An error occurred while processing your card. Try again in a little bit.",
    ),
  ),
  card("pm_card_refundFail", "visa", "5126", success, { refundFails: true }),
  /** Simulator-only: sits in `processing` until POST /_simulator/payment_intents/:id/settle. */
  card("pm_card_processing", "visa", "3220", { kind: "processing" }),
];

export function findTestCard(token: string): TestCard | undefined {
  return TEST_CARDS.find((candidate) => candidate.token === token);
}
