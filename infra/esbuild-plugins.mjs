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
 * Written for SST's plugin bridge too, which runs plugins in a separate Node process: it only
 * uses `onResolve`, resolves to real files (no namespaces, no `onLoad`), and reads the path from
 * `args.path` or `args.Path`.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

const SHIM_DIR = join(tmpdir(), "payment-service-builtin-shims");

/** A CommonJS file that exports the builtin `specifier`, written once. */
function shimFile(specifier) {
  const id = specifier.startsWith("node:") ? specifier : `node:${specifier}`;
  const file = join(SHIM_DIR, `${id.slice("node:".length).replaceAll("/", "__")}.cjs`);
  if (!existsSync(file)) {
    mkdirSync(SHIM_DIR, { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, `module.exports = process.getBuiltinModule(${JSON.stringify(id)});\n`);
    renameSync(temporary, file);
  }
  return file;
}

export const builtinsAsCommonJs = {
  name: "builtins-as-commonjs",
  setup(build) {
    build.onResolve({ filter: /^(node:)?[a-z_][a-z0-9_/]*$/ }, (args) => {
      const specifier = args.path || args.Path;
      if (typeof specifier !== "string" || !isBuiltin(specifier)) return undefined;
      return { path: shimFile(specifier) };
    });
  },
};

export default [builtinsAsCommonJs];
