export declare class SseParser {
  push(text: string): { event: string; data: string }[];
}
