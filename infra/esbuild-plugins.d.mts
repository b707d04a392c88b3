import type { Plugin } from "esbuild";

export declare const builtinsAsCommonJs: Plugin;
declare const plugins: Plugin[];
export default plugins;
