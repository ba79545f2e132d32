import { readFileSync } from "node:fs";

/** The package's version: what the runtime proof, the console's asset paths and the logs say. */
export const SERVICE_VERSION: string = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
