import type { FeedSource } from "../../stream/feedSource.js";

/** The source with `onData` told of every data value before the feed's consumers. */
export function tapData<T>(source: FeedSource<T>, onData: (value: T) => void): FeedSource<T> {
  return {
    overflow: source.overflow,
    joinEvents: source.joinEvents?.bind(source),
    latest: source.latest?.bind(source),
    open: (sink) =>
      source.open({
        data: (value) => {
          onData(value);
          sink.data(value);
        },
        status: (kind, message, ibCode) => sink.status(kind, message, ibCode),
        waiting: (message, untilMs) => sink.waiting(message, untilMs),
        restart: (message, ibCode) => sink.restart(message, ibCode),
        fail: (error) => sink.fail(error),
      }),
  };
}
