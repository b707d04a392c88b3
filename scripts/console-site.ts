/**
 * The support console's files: one esbuild bundle of console/app.ts, the page and the style
 * sheet, and, for a deployed stage, `config.json` naming the stage's OpenID Connect issuer and a
 * Content-Security-Policy in the page itself (S3 and CloudFront send none) that lets it talk only
 * to its own origin (the API, behind the same CloudFront Router) and the issuer's token endpoint.
 *
 * `npm start` serves the same bundle from memory (local/console.ts); `npm run build:console`
 * writes the deployed site (scripts/build-console.ts), which SST's StaticSite uploads
 * (infra/console.ts).
 */
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BuildOptions, build } from "esbuild";
import type { OidcSettings } from "../console/oidc.js";

export const CONSOLE_DIR = fileURLToPath(new URL("../console/", import.meta.url));

export const CONSOLE_BUILD: BuildOptions = {
  entryPoints: [join(CONSOLE_DIR, "app.ts")],
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  write: false,
  logLevel: "silent",
};

/** The console's script, bundled. */
export async function bundleConsole(): Promise<string> {
  const out = await build(CONSOLE_BUILD);
  return out.outputFiles?.[0]?.text ?? "";
}

/** The policy of the console's page: its own origin, plus the origins it must also reach. */
export function consolePolicy(connect: readonly string[] = []): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `connect-src ${["'self'", ...connect].join(" ")}`,
    "img-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
}

/**
 * Writes the deployed console to `outDir`: index.html (with its policy), app.js, console.css and
 * config.json. Answers the files written.
 */
export async function buildConsoleSite(outDir: string, settings: OidcSettings): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const page = await readFile(join(CONSOLE_DIR, "index.html"), "utf8");
  const policy = consolePolicy([new URL(settings.tokenEndpoint).origin]);
  const meta = `<meta http-equiv="Content-Security-Policy" content="${policy}" />`;
  const withPolicy = page.replace(
    '<meta charset="utf-8" />',
    `<meta charset="utf-8" />\n    ${meta}`,
  );
  if (withPolicy === page) throw new Error("console/index.html has no <meta charset> to follow");
  await writeFile(join(outDir, "index.html"), withPolicy);
  await writeFile(join(outDir, "app.js"), await bundleConsole());
  await copyFile(join(CONSOLE_DIR, "console.css"), join(outDir, "console.css"));
  await writeFile(join(outDir, "config.json"), `${JSON.stringify(settings, null, 2)}\n`);
  return ["index.html", "app.js", "console.css", "config.json"];
}
