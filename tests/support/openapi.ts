/**
 * The project's OpenAPI document, and a check of real answers against its response schemas.
 */
import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { parse } from "yaml";

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json =>
  typeof v === "object" && v !== null && !Array.isArray(v);

export const openapi: Json = (() => {
  const doc: unknown = parse(readFileSync(new URL("../../openapi.yaml", import.meta.url), "utf8"));
  if (!isObject(doc)) throw new Error("openapi.yaml is not a document");
  return doc;
})();

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema(openapi, "openapi");

function at(path: readonly string[]): unknown {
  let node: unknown = openapi;
  for (const key of path) node = isObject(node) ? node[key] : undefined;
  return node;
}

/** `[ "GET /api/payments/{id}", ... ]` as the document declares them. */
export function documentedRouteKeys(): string[] {
  const paths = at(["paths"]);
  if (!isObject(paths)) return [];
  return Object.entries(paths).flatMap(([path, item]) =>
    isObject(item)
      ? Object.keys(item)
          .filter((m) => ["get", "post", "put", "patch", "delete"].includes(m))
          .map((m) => `${m.toUpperCase()} ${path}`)
      : [],
  );
}

/** Problem codes the document lists. */
export function documentedProblemCodes(): string[] {
  const codes = at(["components", "schemas", "Problem", "properties", "code", "enum"]);
  return Array.isArray(codes) ? codes.map(String) : [];
}

const pointerSegment = (segment: string) => segment.replaceAll("~", "~0").replaceAll("/", "~1");

/**
 * Checks an answer against the document: the status is documented for the operation, the
 * content type is one it declares, and the body matches the schema. Returns the problems found.
 */
export function checkAnswer(
  routeKey: string,
  status: number,
  contentType: string | null,
  body: unknown,
): string[] {
  const [method = "", path = ""] = routeKey.split(" ");
  let pointer = ["paths", path, method.toLowerCase(), "responses", String(status)];
  let response = at(pointer);
  if (response === undefined) return [`${routeKey} does not document status ${status}`];
  if (isObject(response) && typeof response.$ref === "string") {
    pointer = response.$ref.slice(2).split("/");
    response = at(pointer);
  }
  if (!isObject(response)) return [`${routeKey} ${status} is not a response object`];
  const content = response.content;
  if (!isObject(content)) return [`${routeKey} ${status} documents no body`];
  const type = (contentType ?? "").split(";")[0]?.trim() ?? "";
  if (!isObject(content[type])) return [`${routeKey} ${status} does not document ${type}`];
  // Compile against the schema's place in the document, so its own $refs resolve there.
  const ref = `openapi#/${[...pointer, "content", type, "schema"].map(pointerSegment).join("/")}`;
  const validate = ajv.compile({ $ref: ref });
  if (validate(body)) return [];
  return (validate.errors ?? []).map(
    (e) => `${routeKey} ${status}: ${e.instancePath || "/"} ${e.message ?? "invalid"}`,
  );
}
