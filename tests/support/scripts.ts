/** Runs one of the project's scripts with tsx in its own process, as `npm run` would. */
import { spawn } from "node:child_process";
import { once } from "node:events";

export const root = new URL("../../", import.meta.url).pathname;
export const tsx = `${root}node_modules/.bin/tsx`;

/** Runs `tsx <args>` from the repository root to its end: exit code and output, whatever the code. */
export async function runScript(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [tsx, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => {
    stdout += String(chunk);
  });
  child.stderr.on("data", (chunk) => {
    stderr += String(chunk);
  });
  const [code] = (await once(child, "exit")) as [number | null];
  return { code: code ?? -1, stdout, stderr };
}
