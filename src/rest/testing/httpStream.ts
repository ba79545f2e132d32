/**
 * Reads a streaming HTTP response body until `until` says stop, the body ends, or `timeoutMs` passes
 * (then it throws): every wait in the REST tests is bounded.
 */
export async function readBody(response: Response, until: (text: string) => boolean, timeoutMs = 10_000): Promise<{ text: string; ended: boolean }> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`stream did not deliver in ${timeoutMs} ms; got: ${text.slice(0, 500)}`)), timeoutMs);
  });
  try {
    for (;;) {
      const { value, done } = await Promise.race([reader.read(), timeout]);
      if (done) return { text, ended: true };
      text += decoder.decode(value, { stream: true });
      if (until(text)) return { text, ended: false };
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
}

export const lineCount = (n: number) => (text: string) => text.split("\n").length - 1 >= n;
export const eventCount = (n: number) => (text: string) => text.split("\n\n").length - 1 >= n;
