/** Small helpers shared by the launchers of local servers (moto, stripe-mock, Kafka). */
import type { ChildProcess } from "node:child_process";
import { createServer, Socket } from "node:net";
import { createInterface } from "node:readline";

/** A port that was free a moment ago, found by binding port 0 on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : undefined;
      server.close(() => (port ? resolve(port) : reject(new Error("no free port found"))));
    });
  });
}

/** Calls `onLine` for each line a child process writes to `stream`. */
export function forwardLines(
  stream: NodeJS.ReadableStream | null,
  onLine: (line: string) => void,
): void {
  if (!stream) return;
  createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on("line", onLine);
}

export interface SupervisedChild {
  /** How the child ended, if it has: an exit, or an error starting it. */
  ended(): { exit?: { code: number | null; signal: NodeJS.Signals | null }; spawnError?: Error };
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the child is gone. Safe to repeat. */
  stop(): Promise<void>;
}

/**
 * Keeps a server child from holding the event loop open, kills it when this process exits, and
 * records how it ended.
 */
export function superviseChild(child: ChildProcess, graceMs: number): SupervisedChild {
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) {
    if (stream instanceof Socket) stream.unref();
  }
  const killOnExit = () => {
    child.kill("SIGKILL");
  };
  process.on("exit", killOnExit);

  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exit = { code, signal };
      process.off("exit", killOnExit);
      resolve();
    });
  });
  child.once("error", (error) => {
    spawnError = error;
    process.off("exit", killOnExit);
  });

  return {
    ended: () => ({
      ...(exit === undefined ? {} : { exit }),
      ...(spawnError === undefined ? {} : { spawnError }),
    }),
    async stop() {
      if (exit || spawnError || child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
