export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export declare function parseMetrics(text: string): Sample[];
export declare function samplesOf(samples: Sample[], name: string, match?: Record<string, string>): Sample[];
export declare function total(samples: Sample[], name: string, match?: Record<string, string>): number | undefined;
export declare function totalsBy(samples: Sample[], name: string, label: string): Map<string, number>;
