/**
 * Support's work on dead letters of `order.placed`: list them, redrive one (process it again
 * through the same use case as the consumer), or discard one with a reason. Both actions are
 * version-checked and audited with the dead letter; a redrive that creates a payment is also on
 * that payment's own audit trail (its `payment.create` names the agent and the dead letter).
 */
import { type AuditContext, auditEntry } from "../domain/audit.js";
import {
  ConcurrentUpdateError,
  DeadLetterNotFoundError,
  DeadLetterNotOpenError,
} from "../domain/errors.js";
import type {
  DeadLetter,
  DeadLetterStatus,
  DeadLetterStore,
  Page,
  PageRequest,
  StoredDeadLetter,
} from "../ports.js";
import { handleOrderPlaced, type OrderPlacedDeps } from "./order-placed.js";

export interface DeadLetterDeps extends Omit<OrderPlacedDeps, "deadLetters"> {
  readonly deadLetters: DeadLetterStore;
}

export async function listDeadLetters(
  deps: Pick<DeadLetterDeps, "deadLetters">,
  status: DeadLetterStatus,
  page: PageRequest,
): Promise<Page<StoredDeadLetter>> {
  return await deps.deadLetters.list(status, page);
}

async function openLetter(
  deps: Pick<DeadLetterDeps, "deadLetters">,
  id: string,
): Promise<StoredDeadLetter> {
  const letter = await deps.deadLetters.get(id);
  if (letter === undefined) throw new DeadLetterNotFoundError("No such dead letter.");
  if (letter.status !== "open") {
    throw new DeadLetterNotOpenError(`This dead letter is ${letter.status} already.`);
  }
  return letter;
}

export interface RedriveResult {
  readonly deadLetter: StoredDeadLetter;
  readonly outcome: "created" | "exists" | "dead_letter";
  readonly paymentId?: string;
}

export async function redriveDeadLetter(
  deps: DeadLetterDeps,
  id: string,
  context: AuditContext,
): Promise<RedriveResult> {
  const letter = await openLetter(deps, id);
  let refusedAgain: DeadLetter | undefined;
  const result = await handleOrderPlaced(
    {
      ...deps,
      // Refused again: the letter stays open with the new reason, not set aside a second time.
      deadLetters: {
        send: async (again) => {
          refusedAgain = again;
        },
      },
    },
    letter,
    {
      // The payment's history names the order.placed path and the agent who redrove it.
      context: { ...context, actor: { source: "order.placed", id: context.actor.id } },
      auditDetail: { redriveOf: letter.id },
    },
  );
  const now = deps.clock.now();
  const next: StoredDeadLetter =
    result.outcome === "dead_letter"
      ? {
          ...letter,
          reason: refusedAgain?.reason ?? result.reason,
          attempts: letter.attempts + 1,
          updatedAt: now,
        }
      : {
          ...letter,
          status: "redriven",
          attempts: letter.attempts + 1,
          updatedAt: now,
          resolution: {
            actor: context.actor.id,
            at: now,
            outcome: result.outcome,
            paymentId: result.paymentId,
          },
        };
  const audit = auditEntry(
    context,
    now,
    "dead_letter.redrive",
    result.outcome === "dead_letter" ? "refused_again" : result.outcome,
    {
      detail: {
        deadLetterId: letter.id,
        ...(result.outcome === "dead_letter"
          ? { reason: result.reason.slice(0, 300) }
          : { paymentId: result.paymentId }),
      },
    },
  );
  if (!(await deps.deadLetters.update(letter, next, audit))) {
    throw new ConcurrentUpdateError("The dead letter changed meanwhile; look at it again.");
  }
  return {
    deadLetter: { ...next, version: letter.version + 1 },
    outcome: result.outcome,
    ...(result.outcome === "dead_letter" ? {} : { paymentId: result.paymentId }),
  };
}

export async function discardDeadLetter(
  deps: Pick<DeadLetterDeps, "deadLetters" | "clock">,
  id: string,
  reason: string,
  context: AuditContext,
): Promise<StoredDeadLetter> {
  const letter = await openLetter(deps, id);
  const now = deps.clock.now();
  const next: StoredDeadLetter = {
    ...letter,
    status: "discarded",
    updatedAt: now,
    resolution: { actor: context.actor.id, at: now, outcome: "discarded", reason },
  };
  const audit = auditEntry(context, now, "dead_letter.discard", "discarded", {
    reason,
    detail: { deadLetterId: letter.id },
  });
  if (!(await deps.deadLetters.update(letter, next, audit))) {
    throw new ConcurrentUpdateError("The dead letter changed meanwhile; look at it again.");
  }
  return { ...next, version: letter.version + 1 };
}
