/** The OpenAPI document and the code declare the same routes and the same problem codes. */
import { describe, expect, it } from "vitest";
import { routes } from "../../infra/routes.js";
import { PROBLEMS } from "../../lib/http/problem.js";
import { documentedProblemCodes, documentedRouteKeys, openapi } from "../support/openapi.js";

describe("openapi.yaml", () => {
  it("is OpenAPI 3.1", () => {
    expect(openapi.openapi).toBe("3.1.0");
  });

  it("documents exactly the routes behind a bearer token in the route table", () => {
    const served = routes.filter((r) => r.auth === "jwt").map((r) => r.routeKey);
    expect(documentedRouteKeys().sort()).toEqual([...served].sort());
  });

  it("lists exactly the problem codes the service answers with", () => {
    expect(documentedProblemCodes().sort()).toEqual(Object.keys(PROBLEMS).sort());
  });
});
