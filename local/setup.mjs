// Local development setup, run by `npm install` (postinstall) and runnable by hand:
//   node local/setup.mjs
//
// Plain ESM JavaScript with no npm dependencies, so it runs on Node 20 and 24 before
// anything else is installed. It works through a list of steps; each step checks whether
// its work is already done and returns quickly if so. To add a step, append to `steps`.
//
// Environment:
//   PYTHON=/path/to/python3   interpreter for the virtualenv (default: python3)
//   GO=/path/to/go             Go toolchain that builds stripe-mock (default: go)
//   JAVA_HOME=/path/to/jdk     Java 17+ for the local Kafka broker (default: java on the PATH)
//   MVN=/path/to/mvn           Maven that fetches the Kafka broker's jars (default: mvn)
//   SKIP_LOCAL_SETUP=1         do nothing (e.g. for a production-only install)

import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const localDir = join(root, ".local");
const venvDir = join(localDir, "venv");
const venvPython = join(venvDir, process.platform === "win32" ? "Scripts" : "bin", "python");
const requirementsFile = join(root, "local", "requirements.txt");
const markerFile = join(venvDir, ".moto-installed");
const localBin = join(localDir, "bin");
const stripeMockVersionFile = join(root, "local", "stripe-mock-version.txt");
const stripeMockModule = "github.com/stripe/stripe-mock";
const stripeMockBinary = join(
  localBin,
  process.platform === "win32" ? "stripe-mock.exe" : "stripe-mock",
);
const stripeMockMarker = join(localBin, ".stripe-mock-installed");

class SetupError extends Error {}

/** A tool the step needs is not installed: the step is skipped, the others still run. */
class MissingToolError extends SetupError {}

function log(message) {
  console.log(`[setup] ${message}`);
}

/** Runs a command; returns { status, stdout, stderr }. Never throws for a non-zero exit. */
function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: "utf8", ...options });
  if (result.error) {
    if (result.error.code === "ENOENT") {
      throw new SetupError(`'${command}' not found`);
    }
    throw new SetupError(`could not run '${command}': ${result.error.message}`);
  }
  return { status: result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}

function lastLines(text, count = 15) {
  return text.trim().split("\n").slice(-count).join("\n");
}

/** Step: a project-local virtualenv with the pinned moto (local DynamoDB emulator). */
function pythonVenvWithMoto() {
  const python = process.env.PYTHON || "python3";
  let probe;
  try {
    probe = run(python, ["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"]);
  } catch (error) {
    if (error instanceof SetupError) {
      throw new MissingToolError(
        `${python} not found: install Python 3.10+ or set PYTHON=/path/to/python3`,
      );
    }
    throw error;
  }
  if (probe.status !== 0) {
    throw new SetupError(`${python} does not run: ${lastLines(probe.stderr, 3)}`);
  }
  const version = probe.stdout.trim();
  const [major = 0, minor = 0] = version.split(".").map(Number);
  if (major !== 3 || minor < 10) {
    throw new SetupError(`${python} is Python ${version}; moto needs Python 3.10+`);
  }

  const requirements = readFileSync(requirementsFile, "utf8");
  const wanted = `python ${version}\nrequirements ${createHash("sha256").update(requirements).digest("hex")}\n`;
  if (existsSync(venvPython) && existsSync(markerFile)) {
    if (readFileSync(markerFile, "utf8") === wanted) {
      log("moto: up to date (.local/venv)");
      return;
    }
  }

  // A venv made by another Python version (or a half-made one) is rebuilt from scratch.
  const venvVersion = existsSync(venvPython)
    ? run(venvPython, ["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"])
    : undefined;
  if (venvVersion?.status !== 0 || venvVersion.stdout.trim() !== version) {
    log(`creating .local/venv with ${python} (Python ${version})`);
    const venv = run(python, ["-m", "venv", "--clear", venvDir]);
    if (venv.status !== 0) {
      throw new SetupError(
        `'${python} -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv): ${lastLines(venv.stderr, 3)}`,
      );
    }
  }

  log("installing moto from local/requirements.txt into .local/venv ...");
  const started = Date.now();
  const pip = run(
    venvPython,
    [
      "-m",
      "pip",
      "install",
      "--disable-pip-version-check",
      "--no-input",
      "--quiet",
      "--requirement",
      requirementsFile,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  if (pip.status !== 0) {
    throw new SetupError(`pip install failed:\n${lastLines(`${pip.stdout}\n${pip.stderr}`)}`);
  }
  writeFileSync(markerFile, wanted);
  log(`moto installed in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

/**
 * Step: the pinned stripe-mock (Stripe's OpenAPI-driven mock server, a Go module) in .local/bin,
 * for the Stripe contract check (tests/integration/stripe-contract.test.ts). `go install` also
 * puts the module, with the spec3.json it serves, into Go's module cache; the test reads the
 * spec from there. The marker records the version and that spec's path.
 */
function stripeMock() {
  const version = readFileSync(stripeMockVersionFile, "utf8").trim();
  if (!/^v\d+\.\d+\.\d+$/.test(version)) {
    throw new SetupError(
      `local/stripe-mock-version.txt: '${version}' is not a version like v0.203.0`,
    );
  }
  if (existsSync(stripeMockBinary) && existsSync(stripeMockMarker)) {
    const [markedVersion, specPath] = readFileSync(stripeMockMarker, "utf8").split("\n");
    if (markedVersion === `${stripeMockModule}@${version}` && specPath && existsSync(specPath)) {
      log(`stripe-mock: up to date (.local/bin/stripe-mock ${version})`);
      return;
    }
  }

  const go = process.env.GO || "go";
  const notFound = `${go} not found: install Go 1.22+ (needed for stripe-mock, the Stripe contract check)`;
  let modCache;
  try {
    modCache = run(go, ["env", "GOMODCACHE"]);
  } catch (error) {
    if (error instanceof SetupError) throw new MissingToolError(notFound);
    throw error;
  }
  if (modCache.status !== 0 || modCache.stdout.trim() === "") {
    throw new SetupError(`'${go} env GOMODCACHE' failed: ${lastLines(modCache.stderr, 3)}`);
  }

  log(`installing ${stripeMockModule}@${version} into .local/bin with ${go} install ...`);
  const started = Date.now();
  const install = run(go, ["install", `${stripeMockModule}@${version}`], {
    cwd: root,
    env: { ...process.env, GOBIN: localBin },
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (install.status !== 0 || !existsSync(stripeMockBinary)) {
    throw new SetupError(
      `go install ${stripeMockModule}@${version} failed:\n${lastLines(`${install.stdout}\n${install.stderr}`)}`,
    );
  }
  const specPath = join(
    modCache.stdout.trim(),
    `${stripeMockModule}@${version}`,
    "embedded",
    "openapi",
    "spec3.json",
  );
  if (!existsSync(specPath)) {
    throw new SetupError(`stripe-mock installed, but its OpenAPI spec is not at ${specPath}`);
  }
  writeFileSync(stripeMockMarker, `${stripeMockModule}@${version}\n${specPath}\n`);
  log(`stripe-mock ${version} installed in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

const kafkaConfigDir = join(root, "local", "kafka");
const kafkaPom = join(kafkaConfigDir, "pom.xml");
const kafkaJvmOptions = join(kafkaConfigDir, "jvm.options");
const kafkaDir = join(localDir, "kafka");
const kafkaLibs = join(kafkaDir, "libs");
const kafkaClassArchive = join(kafkaDir, "kafka.jsa");
const kafkaMarker = join(kafkaDir, ".installed");

/** The java that local/kafka.ts runs too: $JAVA_HOME/bin/java, else java on the PATH. */
function javaCommand() {
  return process.env.JAVA_HOME ? join(process.env.JAVA_HOME, "bin", "java") : "java";
}

function sha256(text) {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * Step: the jars of a local Apache Kafka broker (KRaft) in .local/kafka/libs, as resolved by
 * Maven from local/kafka/pom.xml, for local/kafka.ts (tests, `npm run kafka`). Then one broker
 * start and stop records a class-data-sharing archive of its classes (.local/kafka/kafka.jsa),
 * which makes every later start of the JVM faster; without it (if recording fails) the broker
 * still runs. The marker records the pom, the JVM options and the java that the archive is for.
 */
function kafkaBroker() {
  const java = javaCommand();
  let probe;
  try {
    probe = run(java, ["-version"]);
  } catch (error) {
    if (error instanceof SetupError) {
      throw new MissingToolError(
        `${java} not found: install a Java 17+ JDK (or set JAVA_HOME); the local Kafka broker runs on it`,
      );
    }
    throw error;
  }
  const javaVersion = `${probe.stderr}${probe.stdout}`.trim();
  const major = Number(/version "(?:1\.)?(\d+)/.exec(javaVersion)?.[1] ?? 0);
  if (probe.status !== 0 || major === 0) {
    throw new SetupError(`'${java} -version' failed: ${lastLines(javaVersion, 3)}`);
  }
  if (major < 17) {
    throw new SetupError(`${java} is Java ${major}; Kafka 4 needs Java 17+ (set JAVA_HOME)`);
  }

  const pom = readFileSync(kafkaPom, "utf8");
  const kafkaVersion = /<kafka\.version>([^<]+)</.exec(pom)?.[1] ?? "(unknown version)";
  const wanted = `pom ${sha256(pom)}\njvm.options ${sha256(readFileSync(kafkaJvmOptions, "utf8"))}\n${javaVersion}\n`;
  if (existsSync(kafkaLibs) && existsSync(kafkaMarker)) {
    if (readFileSync(kafkaMarker, "utf8") === wanted) {
      log(`kafka: up to date (.local/kafka/libs, Kafka ${kafkaVersion})`);
      return;
    }
  }

  const mvn = process.env.MVN || "mvn";
  log(`fetching Kafka ${kafkaVersion} and its dependencies into .local/kafka/libs with ${mvn} ...`);
  let started = Date.now();
  const fresh = `${kafkaLibs}.new`;
  rmSync(fresh, { recursive: true, force: true });
  let copy;
  try {
    copy = run(
      mvn,
      [
        "--batch-mode",
        "--quiet",
        "--file",
        kafkaPom,
        "dependency:copy-dependencies",
        `-DoutputDirectory=${fresh}`,
        "-DincludeScope=runtime",
      ],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
    );
  } catch (error) {
    if (error instanceof SetupError) {
      throw new MissingToolError(
        `${mvn} not found: install Maven 3.6+ (or set MVN); it fetches the local Kafka broker's jars`,
      );
    }
    throw error;
  }
  if (copy.status !== 0 || !existsSync(join(fresh, `kafka_2.13-${kafkaVersion}.jar`))) {
    throw new SetupError(
      `${mvn} dependency:copy-dependencies failed:\n${lastLines(`${copy.stdout}\n${copy.stderr}`)}`,
    );
  }
  rmSync(kafkaMarker, { force: true });
  rmSync(kafkaClassArchive, { force: true });
  rmSync(kafkaLibs, { recursive: true, force: true });
  renameSync(fresh, kafkaLibs);
  log(`Kafka ${kafkaVersion} jars fetched in ${((Date.now() - started) / 1000).toFixed(1)}s`);

  log("recording a class-data archive of the broker (one start and stop) ...");
  started = Date.now();
  const record = spawnSync(
    process.execPath,
    [
      "--input-type=module",
      "--eval",
      `import(${JSON.stringify(import.meta.url)}).then((setup) => setup.recordKafkaClassArchive(${JSON.stringify(java)}))`,
    ],
    { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 180_000 },
  );
  if (record.status === 0 && existsSync(kafkaClassArchive)) {
    log(`kafka: class-data archive recorded in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  } else {
    log(
      `kafka: no class-data archive (the broker starts without it, only slower):\n${lastLines(`${record.stdout ?? ""}\n${record.stderr ?? ""}${record.error ? `\n${record.error.message}` : ""}`, 10)}`,
    );
  }
  writeFileSync(kafkaMarker, wanted);
}

/**
 * Starts a broker from .local/kafka/libs once with -XX:ArchiveClassesAtExit, waits for "Kafka
 * Server started" and stops it gracefully: the JVM then writes the classes it loaded to
 * .local/kafka/kafka.jsa. Run by kafkaBroker() in a child Node process (steps are synchronous).
 */
export async function recordKafkaClassArchive(java) {
  const work = mkdtempSync(join(tmpdir(), "kafka-class-archive-"));
  const partial = join(kafkaDir, `kafka.jsa.${process.pid}`);
  const jvm = [
    `@${kafkaJvmOptions}`,
    `-Dlog4j2.configurationFile=${join(kafkaConfigDir, "log4j2.properties")}`,
    "-cp",
    join(kafkaLibs, "*"),
  ];
  let broker;
  try {
    const port = await freePort();
    let controllerPort = await freePort();
    while (controllerPort === port) controllerPort = await freePort();
    const properties = join(work, "server.properties");
    writeFileSync(
      properties,
      readFileSync(join(kafkaConfigDir, "server.properties"), "utf8")
        .replaceAll("{{PORT}}", String(port))
        .replaceAll("{{CONTROLLER_PORT}}", String(controllerPort))
        .replaceAll("{{LOG_DIR}}", join(work, "data")),
    );
    const clusterId = run(java, [...jvm, "kafka.tools.StorageTool", "random-uuid"]);
    const format = run(java, [
      ...jvm,
      "kafka.tools.StorageTool",
      "format",
      "--cluster-id",
      clusterId.stdout.trim(),
      "--config",
      properties,
      "--standalone",
    ]);
    if (clusterId.status !== 0 || format.status !== 0) {
      throw new Error(
        `kafka-storage failed:\n${lastLines(`${clusterId.stderr}\n${format.stdout}\n${format.stderr}`)}`,
      );
    }
    const child = spawn(
      java,
      [`-XX:ArchiveClassesAtExit=${partial}`, ...jvm, "kafka.Kafka", properties],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    broker = child;
    const exited = new Promise((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal })),
    );
    let output = "";
    const startedUp = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), 90_000);
      const onData = (chunk) => {
        output += chunk;
        if (output.includes("Kafka Server started")) {
          clearTimeout(timer);
          resolve(true);
        }
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      exited.then(() => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (!startedUp) throw new Error(`the broker did not start:\n${lastLines(output)}`);
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    await exited;
    clearTimeout(timer);
    if (!existsSync(partial)) throw new Error(`the JVM wrote no archive:\n${lastLines(output)}`);
    renameSync(partial, kafkaClassArchive);
  } finally {
    if (broker && broker.exitCode === null && broker.signalCode === null) broker.kill("SIGKILL");
    rmSync(work, { recursive: true, force: true });
    rmSync(partial, { force: true });
  }
}

/** A port that was free a moment ago, found by binding port 0 on 127.0.0.1. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Step: SST's platform types (.sst/platform/config.d.ts, with the AWS provider's types), against
 * which tsconfig.sst.json type-checks sst.config.ts and infra/. `sst install` needs no AWS
 * account, only the npm registry; .sst/platform/version records the sst version it was made by.
 */
function sstPlatformTypes() {
  const sstPackage = join(root, "node_modules", "sst", "package.json");
  if (!existsSync(sstPackage)) {
    log("sst platform types: skipped (sst is not installed, e.g. --omit=dev)");
    return;
  }
  const { version } = JSON.parse(readFileSync(sstPackage, "utf8"));
  const platformDir = join(root, ".sst", "platform");
  const versionFile = join(platformDir, "version");
  if (
    existsSync(join(platformDir, "config.d.ts")) &&
    existsSync(versionFile) &&
    readFileSync(versionFile, "utf8").trim() === version
  ) {
    log(`sst platform types: up to date (.sst/platform, sst ${version})`);
    return;
  }

  log(`installing SST platform types into .sst/platform with sst ${version} install ...`);
  const started = Date.now();
  const install = run(
    process.execPath,
    [join(root, "node_modules", "sst", "bin", "sst.mjs"), "install", "--stage", "dev"],
    {
      cwd: root,
      env: {
        ...process.env,
        SST_SKIP_DEPENDENCY_CHECK: "1",
        SST_NO_BUN: "1",
        SST_TELEMETRY_DISABLED: "1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  if (install.status !== 0 || !existsSync(join(platformDir, "config.d.ts"))) {
    throw new SetupError(
      `sst install failed:\n${lastLines(`${install.stdout}\n${install.stderr}`)}`,
    );
  }
  log(`sst platform types installed in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

/**
 * Step: a Chromium for the console's browser tests (Debian's `chromium` package; playwright-core
 * drives it, since Playwright's own browser download is not reachable everywhere). As root with
 * apt, it is installed; otherwise the step says how.
 */
function chromiumBrowser() {
  const browser = process.env.CHROMIUM || "/usr/bin/chromium";
  if (existsSync(browser)) {
    log(`chromium: present (${browser})`);
    return;
  }
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (!isRoot || !existsSync("/usr/bin/apt-get")) {
    throw new MissingToolError(
      `no browser at ${browser}: install Debian's chromium (apt-get install chromium) or set CHROMIUM=/path/to/chromium`,
    );
  }
  log("installing chromium with apt-get (for the console's browser tests) ...");
  const options = {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  };
  const update = run("apt-get", ["update", "-qq"], options);
  const install =
    update.status === 0 ? run("apt-get", ["install", "-y", "-qq", "chromium"], options) : update;
  if (install.status !== 0 || !existsSync(browser)) {
    throw new SetupError(
      `apt-get install chromium failed:\n${lastLines(`${install.stdout}\n${install.stderr}`)}`,
    );
  }
  log("chromium installed");
}

/**
 * The setup steps, in order. Each is { name, run, without }; run() throws SetupError on failure
 * (MissingToolError when a tool it needs is not installed); `without` says what does not work
 * when the step is skipped.
 */
export const steps = [
  {
    name: "python venv + moto (local DynamoDB)",
    run: pythonVenvWithMoto,
    without:
      "npm start needs DYNAMODB_ENDPOINT (an existing DynamoDB), and npm test cannot run its DynamoDB tests",
  },
  {
    name: "stripe-mock (Stripe contract check)",
    run: stripeMock,
    without: "the simulator's contract test against stripe-mock fails saying so; the rest runs",
  },
  {
    name: "Kafka broker jars (local Kafka)",
    run: kafkaBroker,
    without:
      "no local Kafka broker (npm run kafka, the event tests); npm start logs events instead of publishing them",
  },
  {
    name: "chromium (the console's browser tests)",
    run: chromiumBrowser,
    without: "the console's browser tests fail saying how to get it; the console itself still runs",
  },
  {
    name: "SST platform types (sst.config.ts type-check)",
    run: sstPlatformTypes,
    without: "npm run typecheck cannot check sst.config.ts and infra/",
  },
];

/**
 * Runs every step. A step whose tool is missing is skipped with what that costs, and the others
 * still run (npm install succeeds: `npm start` works with what is there); any other failure is
 * reported and makes the exit code 1, after the remaining steps had their turn.
 */
export function runSetup() {
  if (process.env.SKIP_LOCAL_SETUP === "1") {
    log("skipped (SKIP_LOCAL_SETUP=1)");
    return 0;
  }
  let status = 0;
  const skipped = [];
  for (const step of steps) {
    try {
      step.run();
    } catch (error) {
      if (error instanceof MissingToolError) {
        console.error(
          `[setup] ${step.name}: skipped: ${error.message}. Without it: ${step.without}.`,
        );
        skipped.push(step.name);
        continue;
      }
      if (error instanceof SetupError) {
        console.error(`[setup] ${step.name}: ${error.message}`);
        status = 1;
        continue;
      }
      throw error;
    }
  }
  if (skipped.length > 0) {
    log(
      `done without: ${skipped.join("; ")} (install the tools named above, then run node local/setup.mjs)`,
    );
  }
  return status;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = runSetup();
}
