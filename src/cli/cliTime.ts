import { InvalidArgumentError } from "commander";

/**
 * A time given on a command line, in epoch ms: ISO 8601 (a date, or a date and time; without an offset it is
 * UTC, as every time of the API, never the machine's zone) or unix milliseconds (12 digits or more, so that
 * `20261102` is not read as a moment of 1970).
 */
export function parseCliTime(text: string): number {
  const t = text.trim();
  if (/^\d{12,}$/.test(t)) return Number(t);
  if (/^\d+$/.test(t)) throw new InvalidArgumentError(`${t} is neither a date (write 2026-11-02) nor unix milliseconds (12 digits or more)`);
  const dateTime = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(:\d{2}(\.\d+)?)?)$/.exec(t);
  const ms = Date.parse(dateTime === null ? t : `${dateTime[1]}T${dateTime[2]}Z`);
  if (!Number.isFinite(ms)) throw new InvalidArgumentError("expected an ISO 8601 time (2026-11-02T14:30:00Z; without an offset it is UTC) or unix milliseconds");
  return ms;
}
