/**
 * The caller, as the API Gateway JWT authorizer describes it (`sub` and the space-separated
 * `scope` claim), and the scope rules of the API.
 */
import { InsufficientScopeError, UnauthenticatedError } from "./domain/errors.js";

export const SCOPES = {
  write: "payments:write",
  read: "payments:read",
  refund: "payments:refund",
  admin: "payments:admin",
} as const;
export type Scope = (typeof SCOPES)[keyof typeof SCOPES];

export interface Caller {
  readonly sub: string;
  readonly scopes: ReadonlySet<string>;
}

/** Claims as API Gateway passes them: strings (it renders other JSON values as text). */
export type JwtClaims = Readonly<Record<string, string | number | boolean | string[]>>;

/** Reads the caller from authorizer claims. No `sub` means the gateway was bypassed: 401. */
export function callerFromClaims(claims: JwtClaims | undefined): Caller {
  const sub = claims?.sub;
  if (typeof sub !== "string" || sub.length === 0)
    throw new UnauthenticatedError("No authenticated caller.");
  const scope = claims?.scope ?? claims?.scp;
  const list = Array.isArray(scope)
    ? scope
    : typeof scope === "string"
      ? scope.replace(/^\[|\]$/g, "").split(/[\s,]+/)
      : [];
  return { sub, scopes: new Set(list.filter((s) => s.length > 0)) };
}

export const hasScope = (caller: Caller, scope: Scope): boolean => caller.scopes.has(scope);

/** Throws 403 unless the caller holds one of `scopes`. */
export function requireAnyScope(caller: Caller, ...scopes: Scope[]): void {
  if (!scopes.some((s) => caller.scopes.has(s))) {
    throw new InsufficientScopeError(`This needs the scope ${scopes.join(" or ")}.`);
  }
}

/** Whether the caller may read a payment of `customerId` (others' payments look like 404s). */
export const mayRead = (caller: Caller, customerId: string): boolean =>
  hasScope(caller, SCOPES.admin) || (hasScope(caller, SCOPES.read) && caller.sub === customerId);
