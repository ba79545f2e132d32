import { pino, type Logger, type LevelWithSilent } from "pino";
import pretty from "pino-pretty";

export type { Logger } from "pino";

/** `json`: one JSON object per line (for collectors); `pretty`: a line a person reads; `auto`: pretty on a terminal. */
export type LogFormat = "auto" | "json" | "pretty";

export interface LoggerOptions {
  /** Default `auto`: pretty when the destination is a terminal (`npm start` in a shell), JSON otherwise. */
  format?: LogFormat;
  /** Default: stdout. */
  destination?: NodeJS.WritableStream & { isTTY?: boolean };
}

/** Secrets that might end up in a logged object, redacted by path: a second line of defence (code never logs tokens on purpose). */
const REDACT_PATHS = ["token", "apiToken", "authorization", "*.token", "*.apiToken", "*.authorization", 'headers["x-api-token"]'];

/**
 * Structured logs on stdout (pino: fast, structured, with redaction). Redaction happens before either
 * format sees the object, so a pretty line hides exactly what a JSON line hides; account ids are masked
 * where they are logged (maskAccountId).
 */
export function createLogger(level: LevelWithSilent = "info", options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? process.stdout;
  const format = options.format ?? "auto";
  const readable = format === "pretty" || (format === "auto" && destination.isTTY === true);
  const settings = { level, base: { service: "ib-provider" }, redact: { paths: REDACT_PATHS, censor: "[redacted]" } };
  if (!readable) return options.destination === undefined ? pino(settings) : pino(settings, destination);
  // pino-pretty as a stream in this thread (not a worker transport): synchronous, so the line a fatal error
  // writes just before process.exit is never lost. Colours only on a real terminal.
  const prettyStream = pretty({
    destination,
    sync: true,
    colorize: destination.isTTY === true,
    translateTime: "SYS:HH:MM:ss.l",
    ignore: "pid,hostname,service,component",
    // One line per event (as the JSON is), the layer first: "[12:00:01.250] WARN: [ib] Gateway lost {…}".
    singleLine: true,
    messageFormat: "{if component}[{component}] {end}{msg}",
  });
  return pino(settings, prettyStream);
}
