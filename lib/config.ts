/**
 * Runtime configuration, parsed once at cold start. A missing or bad value stops the function
 * with one line that names it. Each function parses only the parts it uses.
 */
import { TOPIC_MODES } from "./domain/topics.js";
import * as z from "./zod.js";

/** A whole number of at least `minimum`, given as text (environment variables are strings). */
const wholeNumber = (minimum: number) => z.coerce.number().check(z.int(), z.minimum(minimum));

/** Every function: where the data is. */
export const storageSettings = z.object({
  PAYMENTS_TABLE: z.string().check(z.minLength(1)),
  IDEMPOTENCY_TABLE: z.string().check(z.minLength(1)),
  DYNAMODB_ENDPOINT: z.optional(z.url()),
  AWS_REGION: z._default(z.string().check(z.minLength(1)), "us-east-1"),
  /** Quiet seconds before reconciliation looks at an open payment or a held refund. */
  RECONCILE_AFTER_SECONDS: z._default(wholeNumber(0), 900),
  /** Seconds an Idempotency-Key is remembered (24 hours). */
  IDEMPOTENCY_TTL_SECONDS: z._default(wholeNumber(60), 86_400),
  /** Longest one DynamoDB attempt may take, and attempts per call (the first included). */
  DYNAMODB_REQUEST_TIMEOUT_MS: z._default(wholeNumber(100), 2_000),
  DYNAMODB_MAX_ATTEMPTS: z._default(wholeNumber(1), 3),
});

/** Functions that call Stripe. */
export const stripeSettings = z.object({
  STRIPE_SECRET_KEY: z.string().check(
    z.regex(/^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/, {
      error:
        "must be a Stripe secret or restricted key (sk_test_..., sk_live_..., rk_test_..., rk_live_...)",
    }),
  ),
  /**
   * The webhook endpoint's signing secret (only the webhook function needs it); while a secret
   * is rolled, the new and the old, comma-separated (at most 3).
   */
  STRIPE_WEBHOOK_SECRET: z.optional(
    z.string().check(
      z.regex(/^\s*whsec_\w+\s*(,\s*whsec_\w+\s*){0,2}$/, {
        error: "must look like whsec_... (or whsec_new,whsec_old while a secret is rolled)",
      }),
    ),
  ),
  /** Base URL of a Stripe-compatible API (the local simulator); unset means api.stripe.com. */
  STRIPE_API_BASE: z.optional(z.url()),
});

/** Functions that talk to Kafka. Without KAFKA_BROKERS, events are logged instead of sent. */
export const kafkaSettings = z.object({
  KAFKA_BROKERS: z.optional(
    z
      .string()
      .check(
        z.regex(/^[\w.-]+:\d+(,[\w.-]+:\d+)*$/, { error: "must be host:port[,host:port...]" }),
      ),
  ),
  KAFKA_TOPIC_PREFIX: z._default(
    z.string().check(z.regex(/^[\w.-]*$/, { error: "letters, digits, . _ - only" })),
    "",
  ),
  /**
   * `per-type`: one topic per event type (`<prefix>payment.captured`, ...); `single`: every event
   * on `<prefix>payment.events`, so one order's events keep their order (lib/domain/outbox.ts).
   */
  KAFKA_TOPIC_MODE: z._default(z.enum(TOPIC_MODES), "per-type"),
  /** `plaintext` (local), `tls`, or `iam` (MSK with IAM auth over TLS). */
  KAFKA_AUTH: z._default(z.enum(["plaintext", "tls", "iam"]), "plaintext"),
});

/**
 * The outbox sweeper: the bucket where the stream's event-source mapping puts the batches it gave
 * up on (unset: none is read), and an S3-compatible endpoint (the local emulator).
 */
export const outboxFailureSettings = z.object({
  OUTBOX_FAILURE_BUCKET: z.optional(
    z.string().check(z.regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/)),
  ),
  S3_ENDPOINT: z.optional(z.url()),
});

export class ConfigError extends Error {}

/** Parses `env` with `schema`; throws ConfigError("configuration NAME: problem") for the first bad setting. */
export function parseSettings<S extends z.ZodMiniType>(
  schema: S,
  env: Readonly<Record<string, string | undefined>>,
): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const name = issue?.path.map(String).join(".") ?? "configuration";
  const problem = issue?.code === "invalid_type" ? "missing" : (issue?.message ?? "invalid");
  throw new ConfigError(`configuration ${name}: ${problem}`);
}

/** The storage and Stripe settings (the HTTP functions, the webhook, reconciliation). */
export function parseConfig(
  env: Readonly<Record<string, string | undefined>>,
): z.output<typeof storageSettings> & z.output<typeof stripeSettings> {
  return parseSettings(z.extend(storageSettings, stripeSettings.shape), env);
}
