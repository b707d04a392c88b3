/**
 * Boundary schemas (zod/mini, through ./zod.js), each next to its inferred type. Unknown fields
 * are rejected; amounts are integers in minor units, checked against the currency's Stripe minimum.
 */
import { type FieldError, ValidationError } from "./domain/errors.js";
import { checkChargeAmount, MAX_AMOUNT } from "./domain/money.js";
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

export const listPaymentsQuery = z.strictObject({ orderId });

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
