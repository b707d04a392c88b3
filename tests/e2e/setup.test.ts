/**
 * `npm install` runs local/setup.mjs. A missing tool skips only the part that needs it, says what
 * is lost, and the install still succeeds; the other parts are still checked (here they are
 * already set up, so their steps only confirm it).
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function setup(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["local/setup.mjs"], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += String(d)));
    child.stderr.on("data", (d) => (out += String(d)));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out }));
  });
}

describe("local setup", () => {
  it("skips a part whose tool is missing, says what that costs, and still succeeds", async () => {
    const { code, out } = await setup({ PYTHON: "/nonexistent/python3" });
    expect(out).toContain(
      "[setup] python venv + moto (local DynamoDB): skipped: /nonexistent/python3 not found",
    );
    expect(out).toContain("Without it: npm start needs DYNAMODB_ENDPOINT");
    expect(out).toMatch(/done without: python venv \+ moto/);
    // The steps after it still ran.
    expect(out).toMatch(/sst platform types: up to date/);
    expect(code).toBe(0);
  });
});
