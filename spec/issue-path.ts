// Formats a zod issue path the way every spec error names its field: features[1].name.
export function formatIssuePath(path: ReadonlyArray<PropertyKey>, whenEmpty: string): string {
  return path.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part)), '') || whenEmpty;
}
