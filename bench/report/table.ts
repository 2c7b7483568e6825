import type { Spread } from "../summary";

/** `median (min–max)`, the form of every timing in the tables. */
export function cell(value: Spread): string {
  return value.min === value.max ? `${value.median}` : `${value.median} (${value.min}–${value.max})`;
}

export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}
