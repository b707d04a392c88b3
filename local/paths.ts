/** Where local state lives (all under the git-ignored .local/ of the project). */
import { fileURLToPath } from "node:url";

export const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));
export const LOCAL_DIR = fileURLToPath(new URL("../.local/", import.meta.url));
export const DEV_KEY_FILE = fileURLToPath(new URL("../.local/jwt/dev-key.json", import.meta.url));
export const FUNCTIONS_DIR = fileURLToPath(new URL("../functions/", import.meta.url));
