/** Keeps identifiers recognisable in logs without writing them in full (account ids, tokens). */
export function maskAccountId(id: string): string {
  if (id.length <= 4) return "***";
  return `${id.slice(0, 2)}***${id.slice(-3)}`;
}
