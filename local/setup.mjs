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
//   SKIP_LOCAL_SETUP=1         do nothing (e.g. for a production-only install)

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
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
      throw new SetupError(
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
    if (error instanceof SetupError) throw new SetupError(notFound);
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

/** The setup steps, in order. Each is { name, run }; run() throws SetupError on failure. */
export const steps = [
  { name: "python venv + moto (local DynamoDB)", run: pythonVenvWithMoto },
  { name: "stripe-mock (Stripe contract check)", run: stripeMock },
];

/** Runs every step; returns the process exit code (0 when all steps succeeded). */
export function runSetup() {
  if (process.env.SKIP_LOCAL_SETUP === "1") {
    log("skipped (SKIP_LOCAL_SETUP=1)");
    return 0;
  }
  for (const step of steps) {
    try {
      step.run();
    } catch (error) {
      if (error instanceof SetupError) {
        console.error(`[setup] ${step.name}: ${error.message}`);
        return 1;
      }
      throw error;
    }
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = runSetup();
}
