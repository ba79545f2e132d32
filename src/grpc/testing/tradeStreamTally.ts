import { makeGenericClientConstructor, type ChannelCredentials, type ChannelOptions, type ClientReadableStream, type Metadata, type ServiceError } from "@grpc/grpc-js";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { MarketDataServiceService, type StreamTradesRequest } from "../../../gen/ibprovider/v1/market_data_service.js";
import { StreamStatus, StreamStatusKind } from "../../../gen/ibprovider/v1/types.js";

// TradeEvent's fields (proto/ibprovider/v1/market_data_service.proto): trade = 1, status = 2, heartbeat = 3, sequence = 4.
const STATUS_FIELD = 2;
const HEARTBEAT_FIELD = 3;
const SEQUENCE_FIELD = 4;

/**
 * StreamTrades with the responses left as bytes: a test holding hundreds of streams in one process reads
 * only what it checks (each event's sequence, the statuses), not every print as objects.
 */
const RawTradesClient = makeGenericClientConstructor(
  { streamTrades: { ...MarketDataServiceService.streamTrades, responseDeserialize: (bytes: Buffer) => bytes } },
  "ibprovider.v1.MarketDataService",
);

export function rawTradesClient(address: string, creds: ChannelCredentials, options: Partial<ChannelOptions> = {}) {
  const client = new RawTradesClient(address, creds, options);
  return {
    streamTrades: (request: StreamTradesRequest, metadata: Metadata) =>
      (client as unknown as { streamTrades(r: StreamTradesRequest, m: Metadata): ClientReadableStream<Buffer> }).streamTrades(request, metadata),
    close: () => client.close(),
  };
}

/**
 * A trades stream tallied as it arrives: data events counted, their numbering checked (each one after the
 * previous, no repeat, no jump), statuses decoded and placed (the data count when each came).
 */
export class TradeStreamTally {
  data = 0;
  firstSeq: number | undefined;
  lastSeq: number | undefined;
  /** Data events whose sequence was not the previous one + 1 (a gap, a repeat, out of order). */
  misnumbered = 0;
  readonly statuses: { status: StreamStatus; afterData: number }[] = [];
  error: ServiceError | undefined;

  constructor(readonly call: ClientReadableStream<Buffer>) {
    call.on("data", (bytes: Buffer) => this.read(bytes));
    call.on("error", (err: ServiceError) => (this.error = err));
  }

  /** The data count when the first status of `kind` came; undefined while none has. */
  dataBefore(kind: StreamStatusKind): number | undefined {
    return this.statuses.find((s) => s.status.kind === kind)?.afterData;
  }

  /** Data events after the REPLAY_COMPLETE status (0 before it). */
  get liveAfterReplay(): number {
    const at = this.dataBefore(StreamStatusKind.STREAM_STATUS_KIND_REPLAY_COMPLETE);
    return at === undefined ? 0 : this.data - at;
  }

  private read(bytes: Buffer): void {
    const r = new BinaryReader(bytes);
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag >>> 3 !== 1 || (tag & 7) !== WireType.LengthDelimited) {
        r.skip(tag & 7);
        continue;
      }
      const end = r.uint32() + r.pos;
      let seq = 0;
      let status: Uint8Array | undefined;
      let heartbeat = false;
      while (r.pos < end) {
        const field = r.uint32();
        if (field >>> 3 === SEQUENCE_FIELD) seq = r.uint32(); // sequences stay far below 2^32 in a test
        else if (field >>> 3 === STATUS_FIELD) status = r.bytes();
        else {
          if (field >>> 3 === HEARTBEAT_FIELD) heartbeat = true;
          r.skip(field & 7);
        }
      }
      if (status !== undefined) this.statuses.push({ status: StreamStatus.decode(status), afterData: this.data });
      else if (!heartbeat) this.counted(seq);
    }
  }

  private counted(seq: number): void {
    if (this.lastSeq !== undefined && seq !== this.lastSeq + 1) this.misnumbered++;
    this.firstSeq ??= seq;
    this.lastSeq = seq;
    this.data++;
  }
}
