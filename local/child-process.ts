/** Small helpers shared by the launchers of local servers (moto, stripe-mock, Kafka). */
import { createServer } from "node:net";
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
