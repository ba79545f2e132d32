export declare function maskAccount(account: string): string;
export declare function durationSeconds(text: string | undefined): number | undefined;
export declare function formatDuration(seconds: number): string;
export declare function formatBytes(bytes: number): string;
export declare function clockTime(iso: string | undefined): string;
export declare function enumLabel(value: string, prefix: string): string;
