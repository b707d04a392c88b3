/**
 * Local stand-in for the API Gateway JWT authorizer's identity provider: an ES256 key made on
 * first use and kept in .local/jwt/, tokens signed with it, and their verification with the
 * same issuer and audience checks the deployed authorizer makes.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import {
  type CryptoKey,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from "jose";
import type { JwtClaims } from "../lib/auth.js";

export const LOCAL_ISSUER = "https://payment-service.local/issuer";
export const LOCAL_AUDIENCE = "payment-service";
export const ALG = "ES256";

export interface DevKeys {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
}

export async function generateDevKeys(): Promise<DevKeys> {
  const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
  return { privateKey, publicKey };
}

async function importPair(jwk: { privateJwk: JWK; publicJwk: JWK }): Promise<DevKeys> {
  const privateKey = await importJWK(jwk.privateJwk, ALG);
  const publicKey = await importJWK(jwk.publicJwk, ALG);
  // importJWK gives bytes only for symmetric ("oct") keys; ours are EC.
  if (privateKey instanceof Uint8Array || publicKey instanceof Uint8Array)
    throw new Error("bad dev key file");
  return { privateKey, publicKey };
}

/** Reads the development key from `file`, making it on first use. */
export async function loadOrCreateDevKeys(file: string): Promise<DevKeys> {
  try {
    return await importPair(JSON.parse(await readFile(file, "utf8")));
  } catch (error) {
    if (!(error instanceof Error && "code" in error && error.code === "ENOENT")) throw error;
  }
  const keys = await generateDevKeys();
  const body = JSON.stringify({
    privateJwk: await exportJWK(keys.privateKey),
    publicJwk: await exportJWK(keys.publicKey),
  });
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, body, { mode: 0o600 });
  await rename(tmp, file);
  // Whoever renamed last won; everyone uses the key that is now on disk.
  return await importPair(JSON.parse(await readFile(file, "utf8")));
}

export interface TokenRequest {
  readonly sub: string;
  readonly scope: string;
  readonly ttlSeconds?: number;
}

export async function signToken(keys: DevKeys, request: TokenRequest): Promise<string> {
  return await new SignJWT({ scope: request.scope })
    .setProtectedHeader({ alg: ALG, typ: "JWT" })
    .setSubject(request.sub)
    .setIssuer(LOCAL_ISSUER)
    .setAudience(LOCAL_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${request.ttlSeconds ?? 3600}s`)
    .sign(keys.privateKey);
}

/** Claims as API Gateway hands them to Lambda: every value rendered as a string. */
function gatewayClaims(payload: JWTPayload): JwtClaims {
  const claims: Record<string, string> = {};
  for (const [name, value] of Object.entries(payload)) {
    claims[name] =
      typeof value === "string"
        ? value
        : Array.isArray(value)
          ? `[${value.join(" ")}]`
          : String(value);
  }
  return claims;
}

/** Verifies a bearer token; undefined when it is missing, malformed, expired or not ours. */
export function tokenVerifier(keys: DevKeys): (token: string) => Promise<JwtClaims | undefined> {
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, keys.publicKey, {
        issuer: LOCAL_ISSUER,
        audience: LOCAL_AUDIENCE,
        algorithms: [ALG],
        // As API Gateway's JWT authorizer: a token must say when it expires.
        requiredClaims: ["exp"],
      });
      return gatewayClaims(payload);
    } catch {
      return undefined;
    }
  };
}
