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
 * everything and the callback decides; builtins-as-commonjs resolves to real files (no
 * namespaces, no `onLoad`); and neither plugin ever throws (an exception would end the bridge,
 * and the deploy with it), so at worst an import stays an ordinary ES import, or a kafkajs file
 * stays whole, which only costs time.
 *
 * The shims live in node_modules/.cache next to this project (not in a shared temp folder whose
 * files another user could plant), and a shim whose content differs is rewritten.
 *
 * kafkajs-producer-only: the outbox functions only PRODUCE (lib/adapters/kafka-publisher.ts),
 * but kafkajs's `src/index.js` requires the consumer and the admin, and
 * `src/protocol/requests/index.js` the definitions of every API: about 270 KiB bundled, parsed
 * at each of their cold starts. In kafkajs 2.2.4 only (files of another version are left as
 * they are until someone checks the lists below against it), this plugin replaces, by their
 * resolved paths:
 * - `src/consumer/index.js` and `src/admin/index.js`, the factories behind `Kafka#consumer()`
 *   and `Kafka#admin()`, with one that throws NOT_BUNDLED when called;
 * - `src/protocol/requests/<api>/index.js` of each API in UNSENT with kafkajs's own shape of an
 *   unimplemented request, `{ versions: [], protocol }`, `protocol` throwing a non-retriable
 *   error. Only `broker/index.js` and `broker/saslAuthenticator` use them, through `lookup`, and
 *   only when that request is sent (an API the broker lacks fails there first, "does not
 *   support"); nothing reads them at load.
 * Kept: what connecting (ApiVersions, SaslHandshake, SaslAuthenticate: OAUTHBEARER for MSK IAM),
 * metadata refresh (Metadata) and the idempotent producer (InitProducerId, Produce) send, and
 * the transactional producer's (FindCoordinator, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn,
 * TxnOffsetCommit), which are small. A function that does not import kafkajs is unaffected.
 * publish-outbox: 436 -> 310 KiB loaded at init (kafkajs 276 -> 150 KiB). It uses `onLoad` (the
 * bridge passes `path` and takes `contents` and a loader name back), on the rules above.
 * tests/integration/kafka-trim.test.ts produces through the trimmed bundle to a real broker.
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

const KAFKAJS_VERSION = "2.2.4";

const PRODUCER_ONLY = "this function is built producer-only (infra/esbuild-plugins.mjs)";
const NOT_BUNDLED = `kafkajs consumer/admin are not bundled: ${PRODUCER_ONLY}`;

/** Request definitions (`src/protocol/requests/<dir>`) a producer never sends. */
const UNSENT = new Set([
  "fetch",
  "listOffsets",
  "offsetCommit",
  "offsetFetch",
  "joinGroup",
  "heartbeat",
  "leaveGroup",
  "syncGroup",
  "describeGroups",
  "listGroups",
  "deleteGroups",
  "createTopics",
  "deleteTopics",
  "createPartitions",
  "deleteRecords",
  "describeConfigs",
  "alterConfigs",
  "describeAcls",
  "createAcls",
  "deleteAcls",
  "alterPartitionReassignments",
  "listPartitionReassignments",
]);

const FACTORY_STUB = `module.exports = function notBundled() {
  throw new Error(${JSON.stringify(NOT_BUNDLED)});
};
`;

const DEFINITIONS_STUB = (api) => `module.exports = {
  versions: [],
  protocol: () => {
    const error = new Error(${JSON.stringify(`kafkajs request ${api} is not bundled: ${PRODUCER_ONLY}`)});
    error.retriable = false;
    throw error;
  },
};
`;

/** kafkajs's version, by the package.json of its directory (cached: one lookup per copy). */
const kafkajsVersions = new Map();
function kafkajsVersion(packageDir) {
  if (!kafkajsVersions.has(packageDir)) {
    let version;
    try {
      version = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")).version;
    } catch {
      version = undefined;
    }
    kafkajsVersions.set(packageDir, version);
  }
  return kafkajsVersions.get(packageDir);
}

const KAFKAJS_SOURCE = /^(.*[\\/]node_modules[\\/]kafkajs)[\\/]src[\\/](.+)$/;

/** The stub replacing the kafkajs file at `file` (an absolute path), or undefined. */
function kafkajsStub(file) {
  const match = KAFKAJS_SOURCE.exec(file);
  if (match === null) return undefined;
  const [, packageDir = "", inSource = ""] = match;
  const relativePath = inSource.replaceAll("\\", "/");
  let contents;
  if (relativePath === "consumer/index.js" || relativePath === "admin/index.js") {
    contents = FACTORY_STUB;
  } else {
    const request = /^protocol\/requests\/([A-Za-z]+)\/index\.js$/.exec(relativePath);
    if (request === null || !UNSENT.has(request[1])) return undefined;
    contents = DEFINITIONS_STUB(request[1]);
  }
  if (kafkajsVersion(packageDir) !== KAFKAJS_VERSION) return undefined;
  return contents;
}

export const kafkajsProducerOnly = {
  name: "kafkajs-producer-only",
  setup(build) {
    build.onLoad({ filter: /.*/ }, (args) => {
      try {
        const file = args?.path || args?.Path;
        if (typeof file !== "string") return undefined;
        const contents = kafkajsStub(file);
        return contents === undefined ? undefined : { contents, loader: "js" };
      } catch {
        return undefined;
      }
    });
  },
};

export default [builtinsAsCommonJs, kafkajsProducerOnly];
