/** The OpenAPI document and the code declare the same routes and the same problem codes. */
import { describe, expect, it } from "vitest";
import { routes } from "../../infra/routes.js";
import { PROBLEMS } from "../../lib/http/problem.js";
import { documentedProblemCodes, documentedRouteKeys, openapi } from "../support/openapi.js";

describe("openapi.yaml", () => {
  it("is OpenAPI 3.1", () => {
    expect(openapi.openapi).toBe("3.1.0");
  });

  it("documents exactly the routes of the route table", () => {
    expect(documentedRouteKeys().sort()).toEqual(routes.map((r) => r.routeKey).sort());
  });

  it("lists exactly the problem codes the service answers with", () => {
    expect(documentedProblemCodes().sort()).toEqual(Object.keys(PROBLEMS).sort());
  });
});
