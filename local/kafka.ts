/**
 * A local Apache Kafka broker for tests and `npm run kafka`: one node in KRaft combined mode
 * (broker and controller in one JVM), run from the jars that local/setup.mjs (npm postinstall)
 * puts in .local/kafka/libs (see local/kafka/pom.xml), with the configuration template, JVM
 * options and logging settings of local/kafka/.
 *
 * Each broker gets a fresh data directory under the OS temp dir, a PLAINTEXT listener on
 * 127.0.0.1:<port> and a controller listener on another free port. It is ready when it serves
 * metadata of the cluster it was formatted with and its group coordinator answers.
 *
 * The JVM runs under a small `sh` wrapper, in a process group of its own: the wrapper passes a
 * SIGTERM on to the JVM (a graceful shutdown), and it kills the JVM when its standard input (a
 * pipe from this process) closes, so the broker dies with this process even when this process
 * is killed without running its exit hooks (SIGKILL, a crash).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import { forwardLines, freePort } from "./child-process.js";

export interface LocalKafka {
  /** `127.0.0.1:<port>`, for kafkajs' `brokers: [brokers]`. */
  readonly brokers: string;
  readonly port: number;
  /**
   * Stops the broker process but keeps its data and port, for outage tests. A graceful shutdown
   * (SIGTERM; SIGKILL after 15 s); resolves once the process has exited. No-op when paused.
   */
  pause(): Promise<void>;
  /**
   * Starts it again on the same port with the same data; resolves when it serves requests (as
   * after startLocalKafka). No-op when running.
   */
  resume(): Promise<void>;
  /** Kills the broker and deletes its data directory. Safe to call more than once. */
  stop(): Promise<void>;
}

export interface LocalKafkaOptions {
  /** The PLAINTEXT port on 127.0.0.1 (default: a free one). */
  port?: number;
  /** Receives the broker's output line by line (warnings and errors; discarded without it). */
  log?: (line: string) => void;
  /** Called when the broker process exits by itself while running (not on pause or stop). */
  onUnexpectedExit?: (reason: string) => void;
}

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const configDir = join(root, "local", "kafka");
const installDir = join(root, ".local", "kafka");
const libsDir = join(installDir, "libs");
/** A class-data-sharing archive recorded by local/setup.mjs: a faster JVM start. */
const classArchive = join(installDir, "kafka.jsa");

const READY_TIMEOUT_MS = 60_000;
const FORMAT_TIMEOUT_MS = 60_000;
const PAUSE_GRACE_MS = 15_000;
const READY_POLL_MS = 100;
const OUTPUT_TAIL_LINES = 30;
const FIRST_ERROR_LINES = 10;
/** A group that never exists: describing it needs a loaded group coordinator. */
const READINESS_GROUP = "local-kafka-readiness";

/**
 * Runs "$@" (the java command line) in the background and waits for it, passing SIGTERM, SIGINT
 * and SIGHUP on to it; kills it (SIGKILL) when standard input reaches end-of-file, i.e. when the
 * Node process that holds the pipe's other end is gone. Exits with the JVM's status.
 */
const WRAPPER_SCRIPT = `
exec 3<&0
"$@" </dev/null 3<&- &
pid=$!
( read -r _ <&3; kill -KILL "$pid" 2>/dev/null ) &
watchdog=$!
exec 3<&- </dev/null
trap 'kill -TERM "$pid" 2>/dev/null' TERM INT HUP
while :; do
  wait "$pid"
  status=$?
  kill -0 "$pid" 2>/dev/null || break
done
kill "$watchdog" 2>/dev/null
exit "$status"
`;

/** $JAVA_HOME/bin/java, else java on the PATH (local/setup.mjs uses the same one). */
function javaCommand(): string {
  const javaHome = process.env.JAVA_HOME;
  return javaHome ? join(javaHome, "bin", "java") : "java";
}

function jvmArguments(): string[] {
  return [
    `@${join(configDir, "jvm.options")}`,
    ...(existsSync(classArchive) ? [`-XX:SharedArchiveFile=${classArchive}`] : []),
    `-Dlog4j2.configurationFile=${join(configDir, "log4j2.properties")}`,
    "-cp",
    join(libsDir, "*"),
  ];
}

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly error?: Error;
}

function describeExit(exit: Exit): string {
  if (exit.error) return `could not start: ${exit.error.message}`;
  if (exit.code === 127) {
    return `${javaCommand()} not found (exit 127): install a Java 17+ JDK or set JAVA_HOME`;
  }
  return exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

/** One JVM, run under WRAPPER_SCRIPT in a process group of its own. */
class JavaProcess {
  readonly exited: Promise<Exit>;
  /** Set once kill() or stop() was called: an exit after that is not unexpected. */
  stopRequested = false;
  private exitState: Exit | undefined;
  private readonly child: ChildProcess;
  private readonly tail: string[] = [];
  /** The first error lines: a stack trace can push the cause out of the tail. */
  private readonly errors: string[] = [];
  private readonly killOnExit = () => this.kill("SIGKILL");

  constructor(args: readonly string[], log?: (line: string) => void) {
    this.child = spawn("sh", ["-c", WRAPPER_SCRIPT, "local-kafka", javaCommand(), ...args], {
      cwd: root,
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const onLine = (line: string) => {
      this.tail.push(line);
      if (this.tail.length > OUTPUT_TAIL_LINES) this.tail.shift();
      if (this.errors.length < FIRST_ERROR_LINES && /\bERROR\b|^Caused by: /.test(line)) {
        this.errors.push(line);
      }
      log?.(line);
    };
    forwardLines(this.child.stdout, onLine);
    forwardLines(this.child.stderr, onLine);
    // Neither the process nor its pipes keep Node running; the exit hook kills the process.
    this.child.unref();
    for (const stream of [this.child.stdin, this.child.stdout, this.child.stderr]) {
      if (stream instanceof Socket) stream.unref();
    }
    process.on("exit", this.killOnExit);
    this.exited = new Promise<Exit>((resolve) => {
      const done = (exit: Exit) => {
        if (this.exitState) return;
        this.exitState = exit;
        process.off("exit", this.killOnExit);
        this.child.stdin?.destroy();
        resolve(exit);
      };
      this.child.once("exit", (code, signal) => done({ code, signal }));
      this.child.once("error", (error) => done({ code: null, signal: null, error }));
    });
  }

  get exit(): Exit | undefined {
    return this.exitState;
  }

  /** The last lines of its output, for error messages. */
  outputTail(): string {
    const errors = this.errors.filter((line) => !this.tail.includes(line));
    return [
      errors.length > 0 ? `\n--- first errors ---\n${errors.join("\n")}` : "",
      this.tail.length > 0 ? `\n--- last lines of output ---\n${this.tail.join("\n")}` : "",
    ].join("");
  }

  /** SIGTERM: a graceful shutdown of the JVM. SIGKILL: the whole process group, at once. */
  kill(signal: "SIGTERM" | "SIGKILL"): void {
    this.stopRequested = true;
    const pid = this.child.pid;
    if (this.exitState || pid === undefined) return;
    try {
      if (signal === "SIGKILL") process.kill(-pid, "SIGKILL");
      else this.child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
  }

  /** Sends `signal` and waits for the exit; SIGKILL after `graceMs`. */
  async stop(signal: "SIGTERM" | "SIGKILL", graceMs: number): Promise<Exit> {
    // Keeps Node running until the exit is seen (the process is unref'd otherwise).
    if (!this.exitState) this.child.ref();
    this.kill(signal);
    const timer = setTimeout(() => this.kill("SIGKILL"), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Starts a one-node Kafka broker (KRaft) on 127.0.0.1 and a free port (or `port`) with a fresh
 * data directory; resolves when it serves requests (bounded: 60 s, then an error that ends with
 * the tail of the broker's output).
 */
export async function startLocalKafka(options: LocalKafkaOptions = {}): Promise<LocalKafka> {
  if (!existsSync(libsDir) || !readdirSync(libsDir).some((name) => name.startsWith("kafka_"))) {
    throw new Error(
      `local Kafka: no Kafka jars in ${libsDir}; run \`node local/setup.mjs\` (or npm install) first (it needs Java 17+ and Maven)`,
    );
  }
  const log = options.log;
  const port = options.port ?? (await freePort());
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  const brokers = `127.0.0.1:${port}`;

  const dataDir = await mkdtemp(join(tmpdir(), "local-kafka-"));
  const removeDataDir = () => rmSync(dataDir, { recursive: true, force: true });
  // Deletes the data directory if this process exits without stop().
  process.on("exit", removeDataDir);
  const propertiesFile = join(dataDir, "server.properties");
  const clusterId = randomClusterId();

  let broker: JavaProcess | undefined;
  let state: "running" | "paused" | "stopped" = "running";
  const fail = async (message: string): Promise<never> => {
    const tail = broker?.outputTail() ?? "";
    await broker?.stop("SIGKILL", 0);
    throw new Error(`local Kafka on ${brokers}: ${message}${tail}`);
  };

  /** Starts the broker JVM and waits until it serves requests. */
  const launch = async (): Promise<number> => {
    const started = Date.now();
    const current = new JavaProcess([...jvmArguments(), "kafka.Kafka", propertiesFile], log);
    broker = current;
    try {
      await waitUntilReady(brokers, clusterId, current);
    } catch (error) {
      await fail(errorMessage(error));
    }
    void current.exited.then((exit) => {
      if (current.stopRequested || broker !== current) return;
      state = "paused";
      options.onUnexpectedExit?.(`the broker ${describeExit(exit)}${current.outputTail()}`);
    });
    return Date.now() - started;
  };

  try {
    const template = readFileSync(join(configDir, "server.properties"), "utf8");
    const logDir = join(dataDir, "data");
    await mkdir(logDir);
    await writeFile(
      propertiesFile,
      template
        .replaceAll("{{PORT}}", String(port))
        .replaceAll("{{CONTROLLER_PORT}}", String(controllerPort))
        .replaceAll("{{LOG_DIR}}", logDir),
    );

    const formatStarted = Date.now();
    broker = new JavaProcess(
      [
        ...jvmArguments(),
        "kafka.tools.StorageTool",
        "format",
        "--cluster-id",
        clusterId,
        "--config",
        propertiesFile,
        "--standalone",
      ],
      // Its output (the bootstrap records it wrote) only matters when it fails: then it is in
      // the error, through outputTail().
      undefined,
    );
    const formatted = await withTimeout(broker.exited, FORMAT_TIMEOUT_MS);
    if (formatted?.code !== 0) {
      await fail(
        `formatting its storage failed (${formatted ? describeExit(formatted) : `no exit within ${FORMAT_TIMEOUT_MS / 1000} s`})`,
      );
    }
    const formatMs = Date.now() - formatStarted;
    const readyMs = await launch();
    log?.(`local Kafka ready on ${brokers} after ${formatMs + readyMs} ms (format ${formatMs} ms)`);
  } catch (error) {
    state = "stopped";
    process.off("exit", removeDataDir);
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }

  // pause, resume and stop run one after another, in the order called.
  let queue: Promise<unknown> = Promise.resolve();
  const serially = (operation: () => Promise<void>): Promise<void> => {
    const next = queue.then(operation, operation);
    queue = next.catch(() => undefined);
    return next;
  };

  return {
    brokers,
    port,
    pause: () =>
      serially(async () => {
        if (state === "stopped") throw new Error(`local Kafka on ${brokers}: pause() after stop()`);
        if (state === "paused") return;
        state = "paused";
        await broker?.stop("SIGTERM", PAUSE_GRACE_MS);
      }),
    resume: () =>
      serially(async () => {
        if (state === "stopped")
          throw new Error(`local Kafka on ${brokers}: resume() after stop()`);
        if (state === "running") return;
        state = "running";
        try {
          const readyMs = await launch();
          log?.(`local Kafka resumed on ${brokers} after ${readyMs} ms`);
        } catch (error) {
          state = "paused";
          throw error;
        }
      }),
    stop: () =>
      serially(async () => {
        if (state === "stopped") return;
        state = "stopped";
        await broker?.stop("SIGKILL", 0);
        process.off("exit", removeDataDir);
        await rm(dataDir, { recursive: true, force: true });
      }),
  };
}

/**
 * Polls until the broker serves metadata of the cluster `clusterId` (not some other process on
 * the port) and its group coordinator answers; fails when the JVM exits or READY_TIMEOUT_MS
 * passes. This is a readiness check, not a test sleep.
 */
async function waitUntilReady(
  brokers: string,
  clusterId: string,
  broker: JavaProcess,
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError = "no answer yet";
  for (;;) {
    if (broker.exit) throw new Error(`the broker ${describeExit(broker.exit)}`);
    const admin = new Kafka({
      clientId: "local-kafka-readiness",
      brokers: [brokers],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1_000,
      requestTimeout: 5_000,
      retry: { retries: 0 },
    }).admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.clusterId !== clusterId) {
        throw new Error(`another Kafka cluster (${cluster.clusterId}) answers on ${brokers}`);
      }
      // The first FindCoordinator creates __consumer_offsets; DescribeGroups succeeds (kafkajs
      // throws on a group's error code) once the coordinator has loaded it, so that the first
      // consumer group joins without a retry.
      const { groups } = await admin.describeGroups([READINESS_GROUP]);
      if (groups.length !== 1) throw new Error(`DescribeGroups answered ${groups.length} groups`);
      return;
    } catch (error) {
      lastError = errorMessage(error);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `not ready within ${READY_TIMEOUT_MS / 1000} s (last error: ${lastError}; the broker ${broker.exit ? describeExit(broker.exit) : "is still running"})`,
      );
    }
    await withTimeout(broker.exited, READY_POLL_MS);
  }
}

/** A Kafka cluster id: 16 random bytes in URL-safe base64, as `kafka-storage random-uuid`. */
function randomClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString("base64url");
    // Kafka's Uuid.randomUuid() never makes one that starts with "-" (it looks like an option).
    if (!id.startsWith("-")) return id;
  }
}

/** Resolves with the promise's value, or with undefined after `ms`. */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}
