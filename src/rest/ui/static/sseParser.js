/**
 * Server-Sent Events read from a fetch() body (EventSource cannot send the Authorization header).
 * Text goes in as it arrives, in chunks cut anywhere; complete events come out. Follows the HTML
 * standard's parsing: "event:" and "data:" fields (one leading space dropped), data lines joined by "\n",
 * comments (":") and other fields ignored, an event dispatched on a blank line, CR, LF or CRLF line ends.
 */
export class SseParser {
  #buffer = "";
  #event = "";
  /** @type {string[]} */
  #data = [];

  /**
   * @param {string} text
   * @returns {{ event: string, data: string }[]}
   */
  push(text) {
    this.#buffer += text;
    /** @type {{ event: string, data: string }[]} */
    const events = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.#buffer);
      // A lone CR at the end may be the first half of CRLF: wait for the next chunk.
      if (match === null || (match[0] === "\r" && match.index === this.#buffer.length - 1)) break;
      const line = this.#buffer.slice(0, match.index);
      this.#buffer = this.#buffer.slice(match.index + match[0].length);
      if (line === "") {
        if (this.#data.length > 0) events.push({ event: this.#event === "" ? "message" : this.#event, data: this.#data.join("\n") });
        this.#event = "";
        this.#data = [];
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") this.#data.push(value);
      else if (field === "event") this.#event = value;
    }
    return events;
  }
}
