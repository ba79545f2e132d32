import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { Candle as ProtoCandle, Instrument } from "../../../gen/ibprovider/v1/types.js";
import type { TextCandle } from "../../domain/marketData.js";
import type { EncodedMessage } from "../streamEncoding.js";
import { textCandleToProto } from "./marketData.js";

/** Candles encoded per event-loop turn: a year of min1 (525,600) must not hold the loop for seconds. */
const CANDLES_PER_TURN = 5_000;

/**
 * GetCandlesResponse{candles, instrument}, encoded byte for byte as ts-proto's GetCandlesResponse.encode
 * does (a test compares them), but a slice of candles per event-loop turn and without holding every proto
 * object at once: other calls and streams are served while a long window is encoded.
 */
export async function encodeCandlesResponse(candles: readonly TextCandle[], symbol: string, instrument: Instrument): Promise<EncodedMessage> {
  const w = new BinaryWriter();
  for (let i = 0; i < candles.length; i++) {
    ProtoCandle.encode(textCandleToProto(candles[i]!, symbol), w.uint32(10).fork()).join();
    if ((i + 1) % CANDLES_PER_TURN === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  Instrument.encode(instrument, w.uint32(18).fork()).join();
  const bytes = w.finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
