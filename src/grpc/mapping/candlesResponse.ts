import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { Candle as ProtoCandle, Instrument } from "../../../gen/ibprovider/v1/types.js";
import type { TextCandle } from "../../domain/marketData.js";
import type { EncodedMessage } from "../streamEncoding.js";
import { textCandleToProto } from "./marketData.js";

/** Candles encoded per event-loop turn: a year of min1 (525,600) must not hold the loop for seconds. */
const CANDLES_PER_TURN = 5_000;

/**
 * GetCandlesResponse{candles, instrument}, encoded byte for byte as ts-proto's GetCandlesResponse.encode
 * does (a test compares them), but from pages of candles as they come (the store's), a slice per event-loop
 * turn, without holding every candle or proto object at once: other calls and streams are served meanwhile.
 */
export async function encodeCandlesResponse(pages: AsyncIterable<readonly TextCandle[]> | Iterable<readonly TextCandle[]>, symbol: string, instrument: Instrument): Promise<{ bytes: EncodedMessage; candles: number }> {
  const w = new BinaryWriter();
  let candles = 0;
  for await (const page of pages) {
    for (const candle of page) {
      ProtoCandle.encode(textCandleToProto(candle, symbol), w.uint32(10).fork()).join();
      if (++candles % CANDLES_PER_TURN === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  Instrument.encode(instrument, w.uint32(18).fork()).join();
  const bytes = w.finish();
  return { bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), candles };
}
