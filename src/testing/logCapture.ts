import { Writable } from "node:stream";

/** A pino destination for tests: every JSON line written, parsed, and the raw text (to check what never appears). */
export interface LogCapture {
  sink: Writable;
  lines: Record<string, unknown>[];
  /** Everything written so far, as written. */
  output(): string;
  /** The `access` objects of the access log's lines. */
  accessLines<T>(): T[];
}

export function captureLog(): LogCapture {
  const lines: Record<string, unknown>[] = [];
  let output = "";
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      output += chunk.toString();
      for (const line of chunk.toString().split("\n")) if (line.trim() !== "") lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { sink, lines, output: () => output, accessLines: <T>() => lines.flatMap((l) => (l.access === undefined ? [] : [l.access as T])) };
}
