import type { Plugin } from "esbuild";

export declare const builtinsAsCommonJs: Plugin;
export declare const kafkajsProducerOnly: Plugin;
declare const plugins: Plugin[];
export default plugins;
