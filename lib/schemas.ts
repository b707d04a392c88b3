/**
 * Boundary schemas (zod/mini, through ./zod.js), each next to its inferred type. Unknown fields
 * are rejected; amounts are integers in minor units, checked against the currency's Stripe minimum.
 */
import { type FieldError, ValidationError } from "./domain/errors.js";
import { checkChargeAmount, MAX_AMOUNT } from "./domain/money.js";
import { PAYMENT_STATUSES } from "./domain/payment.js";
import * as z from "./zod.js";

export const ORDER_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

const orderId = z
  .string()
  .check(z.regex(ORDER_ID_PATTERN, { error: "must be 1 to 64 characters of A-Z a-z 0-9 _ . : -" }));

/** Stripe's metadata limits: 50 keys, key up to 40 characters without brackets, value up to 500. */
export const RESERVED_METADATA_KEYS = ["payment_id", "order_id", "customer_id"] as const;
const metadata = z
  .record(
    z.string().check(
      z.minLength(1),
      z.maxLength(40, { error: "metadata keys are at most 40 characters" }),
      z.regex(/^[^[\]]+$/, { error: "metadata keys may not contain square brackets" }),
      z.refine((k) => !(RESERVED_METADATA_KEYS as readonly string[]).includes(k), {
        error: `metadata keys ${RESERVED_METADATA_KEYS.join(", ")} are reserved`,
      }),
    ),
    z.string().check(z.maxLength(500, { error: "metadata values are at most 500 characters" })),
  )
  .check(
    z.refine((m) => Object.keys(m).length <= 50 - RESERVED_METADATA_KEYS.length, {
      error: `at most ${50 - RESERVED_METADATA_KEYS.length} metadata keys`,
    }),
  );

/** An amount in minor units: an integer from 1 to MAX_AMOUNT. */
const amount = z
  .int({ error: "must be an integer number of minor units" })
  .check(z.minimum(1), z.maximum(MAX_AMOUNT));

export const createIntentBody = z
  .strictObject({
    orderId,
    amount,
    currency: z.pipe(
      z.string().check(z.regex(/^[A-Za-z]{3}$/, { error: "must be a three-letter ISO 4217 code" })),
      z.transform((c: string) => c.toLowerCase()),
    ),
    captureMethod: z._default(z.enum(["automatic", "manual"]), "automatic"),
    description: z.optional(z.string().check(z.minLength(1), z.maxLength(1000))),
    metadata: z.optional(metadata),
  })
  .check(
    z.superRefine((body, ctx) => {
      const problem = checkChargeAmount(body.amount, body.currency);
      if (problem === undefined) return;
      switch (problem.kind) {
        case "unsupported_currency":
          ctx.addIssue({ code: "custom", path: ["currency"], message: "currency not supported" });
          return;
        case "below_minimum":
          ctx.addIssue({
            code: "custom",
            path: ["amount"],
            message: `below Stripe's minimum of ${problem.minimum} for ${body.currency}`,
          });
          return;
        case "above_maximum":
        case "not_integer":
          ctx.addIssue({ code: "custom", path: ["amount"], message: "amount out of range" });
          return;
      }
    }),
  );
export type CreateIntentRequest = z.infer<typeof createIntentBody>;

export const refundBody = z.strictObject({
  amount: z.optional(amount),
  reason: z.optional(z.enum(["duplicate", "fraudulent", "requested_by_customer"])),
});
export type RefundRequest = z.infer<typeof refundBody>;

export const captureBody = z.strictObject({ amount: z.optional(amount) });

export const cancelBody = z.strictObject({});

/** An instant in ISO 8601 with a zone, normalised to `toISOString()` (the stored form). */
const instant = z.pipe(
  z.string().check(
    z.regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/, {
      error: "must be an ISO 8601 time with a zone, e.g. 2026-12-06T10:00:00Z",
    }),
    z.refine((v) => !Number.isNaN(Date.parse(v)), { error: "is not a real time" }),
  ),
  z.transform((v: string) => new Date(Date.parse(v)).toISOString()),
);

/** `limit` as a query string: 1 to 100, default 20. */
const pageLimit = z._default(
  z.pipe(
    z.string().check(z.regex(/^[1-9]\d{0,2}$/, { error: "must be an integer from 1 to 100" })),
    z.pipe(
      z.transform((v: string) => Number(v)),
      z.number().check(z.maximum(100, { error: "must be an integer from 1 to 100" })),
    ),
  ),
  20,
);

const cursor = z.string().check(z.minLength(1), z.maxLength(2048));

/**
 * GET /api/payments: one lookup (orderId, customerId or stripePaymentIntentId), or the admin's
 * recent list (status, from, to), both paged by cursor and limit.
 */
export const listPaymentsQuery = z
  .strictObject({
    orderId: z.optional(orderId),
    customerId: z.optional(z.string().check(z.minLength(1), z.maxLength(255))),
    stripePaymentIntentId: z.optional(
      z.string().check(z.regex(/^pi_[A-Za-z0-9]{1,250}$/, { error: "must be a PaymentIntent id" })),
    ),
    status: z.optional(z.enum(PAYMENT_STATUSES)),
    from: z.optional(instant),
    to: z.optional(instant),
    cursor: z.optional(cursor),
    limit: pageLimit,
  })
  .check(
    z.superRefine((q, ctx) => {
      const lookups = (["orderId", "customerId", "stripePaymentIntentId"] as const).filter(
        (k) => q[k] !== undefined,
      );
      for (const extra of lookups.slice(1)) {
        ctx.addIssue({ code: "custom", path: [extra], message: "give one lookup at a time" });
      }
      if (lookups.length > 0) {
        for (const k of ["status", "from", "to"] as const) {
          if (q[k] !== undefined)
            ctx.addIssue({
              code: "custom",
              path: [k],
              message: `does not combine with ${lookups[0]}`,
            });
        }
      }
      if (q.from !== undefined && q.to !== undefined && q.from > q.to)
        ctx.addIssue({ code: "custom", path: ["from"], message: "is after to" });
    }),
  );
export type ListPaymentsQuery = z.infer<typeof listPaymentsQuery>;

export const pageQuery = z.strictObject({ cursor: z.optional(cursor), limit: pageLimit });

export const deadLetterListQuery = z.strictObject({
  status: z._default(z.enum(["open", "redriven", "discarded"]), "open"),
  cursor: z.optional(cursor),
  limit: pageLimit,
});

export const discardBody = z.strictObject({
  reason: z.string().check(
    z.minLength(1, { error: "say why it is discarded" }),
    z.maxLength(500),
    z.refine((v) => v.trim().length > 0, { error: "say why it is discarded" }),
  ),
});

/** `Idempotency-Key`: 1 to 255 printable ASCII characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;

/** Parses `input` or throws a ValidationError listing every problem with its path. */
export function parseOrThrow<S extends z.ZodMiniType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ValidationError(toFieldErrors(result.error));
}

const pointer = (path: readonly PropertyKey[]): string =>
  path.length === 0 ? "/" : `/${path.map(String).join("/")}`;

function toFieldErrors(error: z.core.$ZodError): FieldError[] {
  return error.issues.flatMap((issue) =>
    // An unknown field is reported at its own path, one entry per field.
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({ path: pointer([...issue.path, key]), message: "unknown field" }))
      : [{ path: pointer(issue.path), message: issue.message }],
  );
}
