import { pino, type Logger, type LevelWithSilent } from "pino";

export type { Logger } from "pino";

/**
 * Structured JSON logs on stdout (pino: fast, structured, with redaction). Secrets that might end up in a
 * logged object are redacted by path as a second line of defence; code never logs tokens on purpose.
 */
export function createLogger(level: LevelWithSilent = "info"): Logger {
  return pino({
    level,
    base: { service: "ib-provider" },
    redact: {
      paths: ["token", "apiToken", "authorization", "*.token", "*.apiToken", "*.authorization", 'headers["x-api-token"]'],
      censor: "[redacted]",
    },
  });
}
