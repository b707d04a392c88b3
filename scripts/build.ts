/**
 * npm run build: bundles every function the SST app deploys with SST's esbuild options to
 * dist/functions/<name>/bundle.mjs (+ chunks, .map, meta.json), checks each loads in Node 24, and writes
 * dist/build-report.json. See scripts/bench/bundle.ts for the options and why.
 */
import { buildAll } from "./bench/build-all.js";

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

const report = await buildAll();
const width = Math.max(...report.functions.map((f) => f.name.length));
for (const f of report.functions) {
  const top = f.topPackages
    .slice(0, 3)
    .map((p) => `${p.name} ${kib(p.bytes)}`)
    .join(", ");
  const notes = [
    ...(f.needsRequire ? ["needs the banner's require"] : []),
    ...(f.warnings.length > 0 ? [`${f.warnings.length} esbuild warnings`] : []),
  ];
  console.log(
    `${f.name.padEnd(width)}  ${kib(f.bytes).padStart(11)} at init, ${kib(f.deployedBytes).padStart(11)} deployed  ${top}${notes.length > 0 ? `  [${notes.join("; ")}]` : ""}`,
  );
}
console.log(`esbuild ${report.esbuild}; report in dist/build-report.json`);
