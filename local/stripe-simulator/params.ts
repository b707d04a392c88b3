import type Stripe from "stripe";
import { invalidParam } from "./errors.js";
import type { FormObject, FormValue } from "./form.js";

/** Typed, validating access to form parameters, in Stripe's error vocabulary. */
export class Params {
  readonly raw: FormObject;

  constructor(raw: FormObject, allowed: readonly string[]) {
    this.raw = raw;
    for (const key of Object.keys(raw)) {
      if (key !== "expand" && !allowed.includes(key)) {
        throw invalidParam(`Received unknown parameter: ${key}`, key, "parameter_unknown");
      }
    }
  }

  has(name: string): boolean {
    return this.raw[name] !== undefined;
  }

  string(name: string): string | undefined {
    const value = this.raw[name];
    if (value === undefined) {
      return undefined;
    }
    if (typeof value !== "string") {
      throw invalidParam(`Invalid string: ${describe(value)}`, name);
    }
    return value;
  }

  requiredString(name: string): string {
    const value = this.string(name);
    if (value === undefined || value === "") {
      throw invalidParam(`Missing required param: ${name}.`, name, "parameter_missing");
    }
    return value;
  }

  integer(name: string, options: { min?: number; max?: number } = {}): number | undefined {
    const value = this.raw[name];
    if (value === undefined) {
      return undefined;
    }
    if (typeof value !== "string" || !/^-?\d+$/.test(value)) {
      throw invalidParam(`Invalid integer: ${describe(value)}`, name, "parameter_invalid_integer");
    }
    const parsed = Number(value);
    if (!Number.isSafeInteger(parsed)) {
      throw invalidParam(`Invalid integer: ${value}`, name, "parameter_invalid_integer");
    }
    if (options.min !== undefined && parsed < options.min) {
      throw invalidParam(
        `This value must be greater than or equal to ${options.min}.`,
        name,
        "parameter_invalid_integer",
      );
    }
    if (options.max !== undefined && parsed > options.max) {
      throw invalidParam(
        `This value must be less than or equal to ${options.max}.`,
        name,
        "parameter_invalid_integer",
      );
    }
    return parsed;
  }

  requiredInteger(name: string, options: { min?: number; max?: number } = {}): number {
    const value = this.integer(name, options);
    if (value === undefined) {
      throw invalidParam(`Missing required param: ${name}.`, name, "parameter_missing");
    }
    return value;
  }

  boolean(name: string): boolean | undefined {
    return booleanValue(this.raw[name], name);
  }

  oneOf<T extends string>(name: string, values: readonly T[]): T | undefined {
    const value = this.string(name);
    if (value === undefined) {
      return undefined;
    }
    const found = values.find((candidate) => candidate === value);
    if (found === undefined) {
      throw invalidParam(`Invalid ${name}: must be one of ${listWords(values)}`, name);
    }
    return found;
  }

  object(name: string): FormObject | undefined {
    const value = this.raw[name];
    if (value === undefined || value === "") {
      return undefined;
    }
    if (typeof value === "string" || Array.isArray(value)) {
      throw invalidParam("Invalid object", name);
    }
    return value;
  }

  /** Metadata: up to 50 string keys (≤ 40 chars) with string values (≤ 500 chars). */
  metadata(name = "metadata"): Record<string, string> | undefined {
    const value = this.raw[name];
    if (value === undefined) {
      return undefined;
    }
    if (value === "") {
      return {};
    }
    if (typeof value === "string" || Array.isArray(value)) {
      throw invalidParam("Invalid object", name);
    }
    const out: Record<string, string> = {};
    for (const [key, item] of Object.entries(value)) {
      if (typeof item !== "string") {
        throw invalidParam(`Invalid string: ${describe(item)}`, `${name}[${key}]`);
      }
      if (key.length > 40) {
        throw invalidParam(
          `Metadata keys can have up to 40 characters; "${key}" has ${key.length}.`,
          `${name}[${key}]`,
        );
      }
      if (item.length > 500) {
        throw invalidParam(
          `Metadata values can have up to 500 characters, but you passed in a value that is ${item.length} characters.`,
          `${name}[${key}]`,
        );
      }
      out[key] = item;
    }
    if (Object.keys(out).length > 50) {
      throw invalidParam("You can have up to 50 metadata keys.", name);
    }
    return out;
  }

  expand(): string[] {
    const value = this.raw.expand;
    if (value === undefined) {
      return [];
    }
    const list = Array.isArray(value) ? value : [value];
    return list.filter((item): item is string => typeof item === "string");
  }
}

export function booleanValue(value: FormValue | undefined, name: string): boolean | undefined {
  if (value === undefined) {
    return undefined;
  }
  if (value === "true") {
    return true;
  }
  if (value === "false") {
    return false;
  }
  throw invalidParam(`Invalid boolean: ${describe(value)}`, name);
}

function describe(value: FormValue): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function listWords(values: readonly string[]): string {
  if (values.length <= 1) {
    return values.join("");
  }
  return `${values.slice(0, -1).join(", ")}, or ${values[values.length - 1]}`;
}

/** Stripe's metadata update: each key set, and a key set to "" removed. */
export function mergeMetadata(
  current: Stripe.Metadata,
  update: Record<string, string>,
): Stripe.Metadata {
  const next: Stripe.Metadata = { ...current };
  for (const [key, value] of Object.entries(update)) {
    if (value === "") {
      delete next[key];
    } else {
      next[key] = value;
    }
  }
  return next;
}
