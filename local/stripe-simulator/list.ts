import type Stripe from "stripe";
import { invalidParam, resourceMissing } from "./errors.js";
import type { Params } from "./params.js";

export const PAGINATION_PARAMS = ["limit", "starting_after", "ending_before", "created"] as const;

/** Keeps items whose `created` satisfies Stripe's `created` / `created[gte]`... filter. */
function createdFilter(params: Params): ((created: number) => boolean) | undefined {
  const raw = params.raw.created;
  if (raw === undefined) {
    return undefined;
  }
  if (typeof raw === "string") {
    const exact = params.integer("created");
    return (created) => created === exact;
  }
  if (Array.isArray(raw)) {
    throw invalidParam("Invalid created: expected an integer or a range", "created");
  }
  const bounds: Array<(created: number) => boolean> = [];
  for (const [op, value] of Object.entries(raw)) {
    if (typeof value !== "string" || !/^\d+$/.test(value)) {
      throw invalidParam(
        `Invalid integer: ${String(value)}`,
        `created[${op}]`,
        "parameter_invalid_integer",
      );
    }
    const bound = Number(value);
    switch (op) {
      case "gt":
        bounds.push((created) => created > bound);
        break;
      case "gte":
        bounds.push((created) => created >= bound);
        break;
      case "lt":
        bounds.push((created) => created < bound);
        break;
      case "lte":
        bounds.push((created) => created <= bound);
        break;
      default:
        throw invalidParam(
          `Received unknown parameter: created[${op}]`,
          `created[${op}]`,
          "parameter_unknown",
        );
    }
  }
  return (created) => bounds.every((test) => test(created));
}

/**
 * Stripe's list pagination over items given newest first: `limit` (1–100, default 10),
 * `starting_after` / `ending_before` (object ids), `created` filter.
 */
export function paginate<T extends { id: string; created: number }>(
  newestFirst: readonly T[],
  params: Params,
  url: string,
  kind: string,
): Stripe.ApiList<T> {
  const limit = params.integer("limit", { min: 1, max: 100 }) ?? 10;
  const startingAfter = params.string("starting_after");
  const endingBefore = params.string("ending_before");
  if (startingAfter !== undefined && endingBefore !== undefined) {
    throw invalidParam(
      "You may only specify one of these parameters: ending_before, starting_after.",
      "starting_after",
      "parameters_exclusive",
    );
  }
  const keep = createdFilter(params);
  const items = keep ? newestFirst.filter((item) => keep(item.created)) : [...newestFirst];
  if (startingAfter !== undefined) {
    const index = newestFirst.findIndex((item) => item.id === startingAfter);
    if (index === -1) {
      throw resourceMissing(kind, startingAfter, { param: "starting_after", status: 400 });
    }
    const after = new Set(newestFirst.slice(index + 1).map((item) => item.id));
    const rest = items.filter((item) => after.has(item.id));
    return { object: "list", data: rest.slice(0, limit), has_more: rest.length > limit, url };
  }
  if (endingBefore !== undefined) {
    const index = newestFirst.findIndex((item) => item.id === endingBefore);
    if (index === -1) {
      throw resourceMissing(kind, endingBefore, { param: "ending_before", status: 400 });
    }
    const before = new Set(newestFirst.slice(0, index).map((item) => item.id));
    const rest = items.filter((item) => before.has(item.id));
    // The page closest to the cursor, still newest first.
    const page = rest.slice(Math.max(0, rest.length - limit));
    return { object: "list", data: page, has_more: rest.length > limit, url };
  }
  return { object: "list", data: items.slice(0, limit), has_more: items.length > limit, url };
}
