/** Builders for complete Stripe objects, typed with the `stripe` package's own types. */
import type Stripe from "stripe";
import type { TestCard } from "./cards.js";
import { newId, nowSeconds, randomToken } from "./ids.js";

export interface PaymentIntentInit {
  amount: number;
  currency: string;
  captureMethod: Stripe.PaymentIntent.CaptureMethod;
  description: string | null;
  metadata: Stripe.Metadata;
  automaticPaymentMethods: boolean;
  paymentMethodTypes: string[];
  receiptEmail: string | null;
  statementDescriptor: string | null;
  statementDescriptorSuffix: string | null;
  customer: string | null;
  transferGroup: string | null;
}

export function buildPaymentIntent(init: PaymentIntentInit): Stripe.PaymentIntent {
  const id = newId("pi");
  return {
    id,
    object: "payment_intent",
    allowed_payment_method_types: null,
    amount: init.amount,
    amount_capturable: 0,
    amount_details: { tip: {} },
    amount_received: 0,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: init.automaticPaymentMethods
      ? { allow_redirects: "always", enabled: true }
      : null,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: init.captureMethod,
    client_secret: `${id}_secret_${randomToken(25)}`,
    confirmation_method: "automatic",
    created: nowSeconds(),
    currency: init.currency,
    customer: init.customer,
    customer_account: null,
    description: init.description,
    excluded_payment_method_types: null,
    last_payment_error: null,
    latest_charge: null,
    livemode: false,
    managed_payments: null,
    metadata: init.metadata,
    next_action: null,
    on_behalf_of: null,
    payment_method: null,
    payment_method_configuration_details: init.automaticPaymentMethods
      ? { id: newId("pmc"), parent: null }
      : null,
    payment_method_options: {
      card: {
        installments: null,
        mandate_options: null,
        network: null,
        request_three_d_secure: "automatic",
      },
    },
    payment_method_types: init.paymentMethodTypes,
    payment_record: null,
    processing: null,
    receipt_email: init.receiptEmail,
    review: null,
    setup_future_usage: null,
    shipping: null,
    source: null,
    statement_descriptor: init.statementDescriptor,
    statement_descriptor_suffix: init.statementDescriptorSuffix,
    status: "requires_payment_method",
    transfer_data: null,
    transfer_group: init.transferGroup,
  };
}

export type ChargeResult = "succeeded" | "pending" | "failed";

export function buildCharge(
  pi: Stripe.PaymentIntent,
  paymentMethodId: string,
  card: TestCard,
  result: ChargeResult,
): Stripe.Charge {
  const id = newId("ch");
  const declined = card.outcome.kind === "decline" ? card.outcome : undefined;
  const capturedNow = result === "succeeded" && pi.capture_method !== "manual";
  const expYear = new Date().getUTCFullYear() + 3;
  return {
    id,
    object: "charge",
    amount: pi.amount,
    amount_captured: capturedNow ? pi.amount : 0,
    amount_refunded: 0,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: capturedNow ? newId("txn") : null,
    billing_details: {
      address: {
        city: null,
        country: null,
        line1: null,
        line2: null,
        postal_code: null,
        state: null,
      },
      email: null,
      name: null,
      phone: null,
      tax_id: null,
    },
    calculated_statement_descriptor: "STRIPE SIMULATOR",
    captured: capturedNow,
    created: nowSeconds(),
    currency: pi.currency,
    customer: typeof pi.customer === "string" ? pi.customer : null,
    description: pi.description,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: declined ? declined.code : null,
    failure_message: declined ? declined.message : null,
    fraud_details: {},
    livemode: false,
    metadata: { ...pi.metadata },
    on_behalf_of: null,
    outcome: declined
      ? {
          advice_code: null,
          network_advice_code: null,
          network_decline_code: null,
          network_status: "declined_by_network",
          reason: declined.declineCode,
          risk_level: "normal",
          risk_score: 41,
          seller_message: "The bank did not return any further details with this decline.",
          type: "issuer_declined",
        }
      : {
          advice_code: null,
          network_advice_code: null,
          network_decline_code: null,
          network_status: "approved_by_network",
          reason: null,
          risk_level: "normal",
          risk_score: 23,
          seller_message: "Payment complete.",
          type: "authorized",
        },
    paid: result === "succeeded",
    payment_intent: pi.id,
    payment_method: paymentMethodId,
    payment_method_details: {
      card: {
        amount_authorized: result === "failed" ? null : pi.amount,
        authorization_code: result === "failed" ? null : randomToken(6).toUpperCase(),
        brand: card.brand,
        checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: "pass" },
        country: card.country,
        electronic_commerce_indicator: null,
        exp_month: 12,
        exp_year: expYear,
        extended_authorization: { status: "disabled" },
        fingerprint: `sim${card.last4}${card.brand}`.slice(0, 16),
        funding: card.funding,
        incremental_authorization: { status: "unavailable" },
        installments: null,
        last4: card.last4,
        mandate: null,
        multicapture: { status: "unavailable" },
        network: card.brand,
        network_token: { used: false },
        network_transaction_id: randomToken(15),
        overcapture: { maximum_amount_capturable: pi.amount, status: "unavailable" },
        regulated_status: "unregulated",
        three_d_secure: null,
        transaction_link_id: null,
        wallet: null,
      },
      type: "card",
    },
    radar_options: {},
    receipt_email: pi.receipt_email,
    receipt_number: null,
    receipt_url: `https://pay.stripe.com/receipts/payment/sim_${randomToken(40)}`,
    refunded: false,
    review: null,
    shipping: null,
    source: null,
    source_transfer: null,
    statement_descriptor: pi.statement_descriptor,
    statement_descriptor_suffix: pi.statement_descriptor_suffix,
    status: result,
    transfer_data: null,
    transfer_group: pi.transfer_group,
  };
}

/** The dispute Stripe opens on a charge (test card `pm_card_createDispute`: fraudulent). */
export function buildDispute(charge: Stripe.Charge, paymentIntentId: string): Stripe.Dispute {
  const created = nowSeconds();
  return {
    id: newId("dp"),
    object: "dispute",
    amount: charge.amount,
    balance_transactions: [],
    charge: charge.id,
    created,
    currency: charge.currency,
    enhanced_eligibility_types: [],
    evidence: {
      access_activity_log: null,
      billing_address: null,
      cancellation_policy: null,
      cancellation_policy_disclosure: null,
      cancellation_rebuttal: null,
      customer_communication: null,
      customer_email_address: null,
      customer_name: null,
      customer_purchase_ip: null,
      customer_signature: null,
      duplicate_charge_documentation: null,
      duplicate_charge_explanation: null,
      duplicate_charge_id: null,
      enhanced_evidence: {},
      product_description: null,
      receipt: null,
      refund_policy: null,
      refund_policy_disclosure: null,
      refund_refusal_explanation: null,
      service_date: null,
      service_documentation: null,
      shipping_address: null,
      shipping_carrier: null,
      shipping_date: null,
      shipping_documentation: null,
      shipping_tracking_number: null,
      uncategorized_file: null,
      uncategorized_text: null,
    },
    evidence_details: {
      due_by: created + 7 * 86_400,
      enhanced_eligibility: {},
      has_evidence: false,
      past_due: false,
      submission_count: 0,
      submission_method: "not_submitted",
    },
    intended_submission_method: null,
    is_charge_refundable: false,
    livemode: false,
    metadata: {},
    payment_intent: paymentIntentId,
    payment_method_details: {
      card: {
        brand: "visa",
        case_type: "chargeback",
        network: "visa",
        network_reason_code: "10.4",
      },
      type: "card",
    },
    reason: "fraudulent",
    status: "needs_response",
  };
}

export function buildRefund(init: {
  amount: number;
  charge: Stripe.Charge;
  paymentIntentId: string;
  reason: Stripe.Refund.Reason | null;
  metadata: Stripe.Metadata;
  pending: boolean;
}): Stripe.Refund {
  return {
    id: newId("re"),
    object: "refund",
    amount: init.amount,
    balance_transaction: newId("txn"),
    charge: init.charge.id,
    created: nowSeconds(),
    currency: init.charge.currency,
    customer: typeof init.charge.customer === "string" ? init.charge.customer : null,
    customer_account: null,
    destination_details: {
      card: {
        reference_status: init.pending ? "pending" : "available",
        reference_type: "acquirer_reference_number",
        type: "refund",
        ...(init.pending ? {} : { reference: randomToken(23) }),
      },
      type: "card",
    },
    metadata: init.metadata,
    payment_intent: init.paymentIntentId,
    payment_method: init.charge.payment_method,
    reason: init.reason,
    receipt_number: null,
    source_transfer_reversal: null,
    status: init.pending ? "pending" : "succeeded",
    transfer_reversal: null,
  };
}
