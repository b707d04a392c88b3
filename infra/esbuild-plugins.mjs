/**
 * esbuild plugins of the Lambda bundles: SST's `nodejs.plugins` (infra/functions.ts) and the
 * local build (scripts/bench/bundle.ts) load this same file.
 *
 * builtins-as-commonjs: every import of a Node builtin in the bundle (`import { STATUS_CODES }
 * from "node:http"` in @middy/util, `import * as http from "http"` in the Stripe SDK, ...) loads
 * the builtin as CommonJS, through `process.getBuiltinModule`, instead of as an ES module.
 *
 * Why: an ES import of a builtin builds its module namespace, which reads every export, lazy
 * getters included. For `node:http`, the `WebSocket`, `MessageEvent` and `CloseEvent` getters load
 * Node's bundled undici: about 40 ms of cold start, for nothing; `process`, `fs` and `util` add a
 * few ms each. The Lambda runtime itself requires `node:http` as CommonJS. `npm run bench`
 * measures the difference.
 *
 * Written for SST's plugin bridge too (`.sst/platform/functions/nodejs-runtime/plugin.mjs`), which
 * runs plugin files in a separate Node process with a stub that has only `onResolve`, `onLoad`
 * and `onEnd`, and tests each filter against a path it may not pass on: so the filter takes
 * everything and the callback decides; it resolves to real files (no namespaces, no `onLoad`);
 * and it never throws (an exception would end the bridge, and the deploy with it), so at worst
 * an import stays an ordinary ES import, which only costs time.
 *
 * The shims live in node_modules/.cache next to this project (not in a shared temp folder whose
 * files another user could plant), and a shim whose content differs is rewritten.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const SHIM_DIR = fileURLToPath(
  new URL("../node_modules/.cache/payment-service-builtin-shims/", import.meta.url),
);

function readOrUndefined(file) {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/** A CommonJS file that exports the builtin `specifier` (written if missing or different). */
function shimFile(specifier) {
  const id = specifier.startsWith("node:") ? specifier : `node:${specifier}`;
  const file = join(SHIM_DIR, `${id.slice("node:".length).replaceAll("/", "__")}.cjs`);
  const contents = `module.exports = process.getBuiltinModule(${JSON.stringify(id)});\n`;
  if (readOrUndefined(file) !== contents) {
    mkdirSync(SHIM_DIR, { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, contents);
    renameSync(temporary, file);
  }
  return file;
}

export const builtinsAsCommonJs = {
  name: "builtins-as-commonjs",
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      try {
        const specifier = args?.path || args?.Path;
        if (typeof specifier !== "string" || !isBuiltin(specifier)) return undefined;
        return { path: shimFile(specifier) };
      } catch {
        return undefined;
      }
    });
  },
};

export default [builtinsAsCommonJs];
