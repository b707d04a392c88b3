/**
 * The support console, served locally by the gateway at /console/ (same origin as the API):
 * the page, its script (console/app.ts bundled by esbuild on first request, kept in memory), and
 * a local sign-in that issues a short-lived token for a chosen sub and scopes, signed with the
 * local development key. Local only: the deployed console signs in with the stage's issuer.
 */
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { bundleConsole, CONSOLE_DIR, consolePolicy } from "../scripts/console-site.js";
import { type DevKeys, signToken } from "./auth.js";

const SUB = /^[A-Za-z0-9_.:@-]{1,128}$/;
const SCOPE = /^payments:(write|read|refund|admin)$/;
const TOKEN_SECONDS = 3600;

/** The bundled script, built once. */
let bundle: Promise<string> | undefined;
export function consoleBundle(): Promise<string> {
  bundle ??= bundleConsole();
  return bundle;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    "content-type": type,
    "cache-control": "no-store",
    // The page runs only its own script and talks only to its own origin.
    "content-security-policy": `${consolePolicy()}; frame-ancestors 'none'`,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  });
  res.end(body);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += b.length;
    if (size > 4096) return undefined;
    chunks.push(b);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    return undefined;
  }
}

const problem = (res: ServerResponse, status: number, code: string, detail: string) =>
  send(
    res,
    status,
    "application/problem+json",
    JSON.stringify({
      type: `urn:payment-service:problem:${code}`,
      title: detail,
      status,
      detail,
      code,
    }),
  );

/** The gateway's `extra` hook for /console/. */
export function consoleSite(keys: DevKeys) {
  return async (req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> => {
    const method = (req.method ?? "GET").toUpperCase();
    if (path === "/console") {
      res.writeHead(308, { location: "/console/" });
      res.end();
      return true;
    }
    if (!path.startsWith("/console/")) return false;
    if (method === "POST" && path === "/console/local-token") {
      const body = await readJson(req);
      const sub = typeof body === "object" && body !== null ? Reflect.get(body, "sub") : undefined;
      const scopes =
        typeof body === "object" && body !== null ? Reflect.get(body, "scopes") : undefined;
      const list = typeof scopes === "string" ? scopes.split(/\s+/).filter((s) => s !== "") : [];
      if (typeof sub !== "string" || !SUB.test(sub) || list.some((s) => !SCOPE.test(s))) {
        problem(res, 400, "validation_failed", "Give a subject and payments:* scopes.");
        return true;
      }
      const token = await signToken(keys, {
        sub,
        scope: list.join(" "),
        ttlSeconds: TOKEN_SECONDS,
      });
      send(res, 200, "application/json", JSON.stringify({ token, expiresIn: TOKEN_SECONDS }));
      return true;
    }
    if (method !== "GET") return false;
    if (path === "/console/" || path === "/console/index.html") {
      send(
        res,
        200,
        "text/html; charset=utf-8",
        await readFile(join(CONSOLE_DIR, "index.html"), "utf8"),
      );
      return true;
    }
    if (path === "/console/config.json") {
      send(res, 200, "application/json", JSON.stringify({ mode: "local" }));
      return true;
    }
    if (path === "/console/app.js") {
      send(res, 200, "text/javascript; charset=utf-8", await consoleBundle());
      return true;
    }
    if (path === "/console/console.css") {
      send(
        res,
        200,
        "text/css; charset=utf-8",
        await readFile(join(CONSOLE_DIR, "console.css"), "utf8"),
      );
      return true;
    }
    return false;
  };
}

const TYPES: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "console.css": "text/css; charset=utf-8",
  "config.json": "application/json",
};

/**
 * The gateway's `extra` hook serving a console built for a stage (npm run build:console) from
 * `dir` at /console/, as the stage's CloudFront Router serves it beside the API: the files as
 * written, with no headers of ours (the page carries its own policy), and no local sign-in.
 */
export function builtConsoleSite(dir: string) {
  return async (req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> => {
    if ((req.method ?? "GET").toUpperCase() !== "GET" || !path.startsWith("/console/"))
      return false;
    const name = path === "/console/" ? "index.html" : path.slice("/console/".length);
    const type = TYPES[name];
    if (type === undefined) return false;
    res.writeHead(200, { "content-type": type, "cache-control": "no-cache" });
    res.end(await readFile(join(dir, name)));
    return true;
  };
}
