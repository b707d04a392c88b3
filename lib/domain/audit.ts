/**
 * The audit trail: who did what to a payment, when, through which request, and how it ended.
 * An entry never holds a secret, a client secret, a token or card data: only ids, amounts,
 * statuses, the caller's own reason and codes.
 */
import { randomBytes } from "node:crypto";
import type { ChangeSource } from "./payment.js";

/** Who acts: a token's `sub` for API calls, else the system part that acted. */
export interface Actor {
  readonly source: ChangeSource;
  /** The token's `sub` (source `api`), or the source itself. */
  readonly id: string;
}

export const SYSTEM_ACTORS = {
  stripe: { source: "stripe", id: "stripe" },
  orderPlaced: { source: "order.placed", id: "order.placed" },
  reconciliation: { source: "reconciliation", id: "reconciliation" },
} as const satisfies Record<string, Actor>;

export const apiActor = (sub: string): Actor => ({ source: "api", id: sub });

/** The context of an API call by `caller` (a token's sub). */
export const apiContext = (request: {
  readonly caller: string;
  readonly key?: string | undefined;
  readonly requestId?: string | undefined;
}): AuditContext => ({
  actor: apiActor(request.caller),
  requestId: request.requestId,
  idempotencyKey: request.key,
});

export const AUDIT_ACTIONS = [
  "payment.create",
  "payment.refund",
  "payment.capture",
  "payment.cancel",
  "payment.reconcile",
  "stripe.event",
  "reconciliation.run",
  "dead_letter.redrive",
  "dead_letter.discard",
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** What an operation knows about itself before it writes anything. */
export interface AuditContext {
  readonly actor: Actor;
  /** API Gateway's request id (the access log's), or the Lambda request id off HTTP. */
  readonly requestId?: string | undefined;
  /** The caller's Idempotency-Key, or the Stripe event id of a webhook. */
  readonly idempotencyKey?: string | undefined;
}

export type AuditDetail = Readonly<Record<string, string | number>>;

export interface AuditEntry {
  /** Sorts by time: `aud_` + the time in ms (base 36, 9 digits) + 10 random characters. */
  readonly id: string;
  readonly at: string;
  readonly actor: string;
  readonly source: ChangeSource;
  readonly action: AuditAction;
  /** `succeeded`, `accepted` (Stripe to confirm), `unchanged`, or `refused:<problem code>`... */
  readonly outcome: string;
  readonly requestId?: string;
  readonly idempotencyKey?: string;
  readonly reason?: string;
  readonly detail?: AuditDetail;
}

/** The longest reason kept: a support note, not a document. */
export const MAX_AUDIT_REASON = 500;

export function auditEntry(
  context: AuditContext,
  at: string,
  action: AuditAction,
  outcome: string,
  extra: { reason?: string | undefined; detail?: AuditDetail | undefined } = {},
): AuditEntry {
  const ms = Date.parse(at);
  const stamp = (Number.isNaN(ms) ? 0 : ms).toString(36).padStart(9, "0");
  return {
    id: `aud_${stamp}${randomBytes(8).toString("base64url").slice(0, 10)}`,
    at,
    actor: context.actor.id,
    source: context.actor.source,
    action,
    outcome,
    ...(context.requestId === undefined ? {} : { requestId: context.requestId }),
    ...(context.idempotencyKey === undefined ? {} : { idempotencyKey: context.idempotencyKey }),
    ...(extra.reason === undefined ? {} : { reason: extra.reason.slice(0, MAX_AUDIT_REASON) }),
    ...(extra.detail === undefined ? {} : { detail: extra.detail }),
  };
}

/** The same entry with its final outcome (and more detail), keeping its id and time. */
export const withOutcome = (
  entry: AuditEntry,
  outcome: string,
  detail: AuditDetail = {},
): AuditEntry => ({ ...entry, outcome, detail: { ...entry.detail, ...detail } });
