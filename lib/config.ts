/**
 * Runtime configuration, parsed once at cold start. A missing or bad value stops the function
 * with one line that names it.
 */
import { z } from "zod";

const schema = z.object({
  PAYMENTS_TABLE: z.string().min(1),
  IDEMPOTENCY_TABLE: z.string().min(1),
  STRIPE_SECRET_KEY: z.string().regex(/^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/, {
    error: "must be a Stripe secret key (sk_test_..., sk_live_...)",
  }),
  /** The webhook endpoint's signing secret (only the webhook function needs it). */
  STRIPE_WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_\w+$/, { error: "must look like whsec_..." })
    .optional(),
  /** Base URL of a Stripe-compatible API (the local simulator); unset means api.stripe.com. */
  STRIPE_API_BASE: z.url().optional(),
  DYNAMODB_ENDPOINT: z.url().optional(),
  AWS_REGION: z.string().min(1).default("us-east-1"),
  /** Quiet seconds before reconciliation looks at an open payment or a held refund. */
  RECONCILE_AFTER_SECONDS: z.coerce.number().int().min(0).default(900),
  /** Seconds an Idempotency-Key is remembered (24 hours). */
  IDEMPOTENCY_TTL_SECONDS: z.coerce.number().int().min(60).default(86_400),
});

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {}

/** Parses `env`; throws ConfigError("NAME: problem") for the first bad setting. */
export function parseConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const name = issue?.path.map(String).join(".") ?? "configuration";
  const problem = issue?.code === "invalid_type" ? "missing" : (issue?.message ?? "invalid");
  throw new ConfigError(`configuration ${name}: ${problem}`);
}
