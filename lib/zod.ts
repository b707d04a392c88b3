/**
 * zod for the Lambda path: zod/mini (schemas built with functions such as `z.optional(s)` and
 * `s.check(z.minLength(1))` rather than methods), which is much cheaper to import and to build
 * schemas with than classic zod (npm run bench). Import `z` from here, not from "zod/mini": unlike
 * classic zod, zod/mini turns on no locale, so every default message would read "Invalid input".
 * English is turned on here once, keeping the messages that reach clients (problem+json
 * `errors[].message`) and operators (configuration errors) exactly as classic zod words them.
 */
import { config } from "zod/mini";
import en from "zod/v4/locales/en.js";

config(en());

export * from "zod/mini";
