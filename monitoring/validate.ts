// Input checks shared by the drift statistics: every error names the feature and the window, so a
// failing drift run points at the column to fix instead of returning a silent NaN.

export type WindowRole = 'reference' | 'current';

/** Throws unless the sample is non-empty and every value is a finite number. */
export function assertNumericSample(values: ArrayLike<number>, feature: string, role: WindowRole): void {
  if (values.length === 0) {
    throw new Error(`drift: feature '${feature}' has an empty ${role} sample; a window needs at least one row`);
  }
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      const what = typeof v !== 'number' ? `a ${typeof v}` : Number.isNaN(v) ? 'NaN' : String(v);
      throw new Error(
        `drift: feature '${feature}' has ${what} at row ${i} of the ${role} sample; drop or impute missing and ` +
          `non-finite values before drift (count them as a data-quality signal)`,
      );
    }
  }
}

/** Throws unless every category is a string (CSV readers can hand over null for empty cells). */
export function assertCategoricalSample(values: readonly unknown[], feature: string, role: WindowRole): void {
  if (values.length === 0) {
    throw new Error(`drift: feature '${feature}' has an empty ${role} sample; a window needs at least one row`);
  }
  for (let i = 0; i < values.length; i++) {
    if (typeof values[i] !== 'string') {
      throw new Error(
        `drift: feature '${feature}' has ${values[i] === null ? 'null' : typeof values[i]} at row ${i} of the ${role} ` +
          `sample; categories must be strings (map missing values to an explicit category such as "__missing__")`,
      );
    }
  }
}

/** Sorted copy; the input is left untouched because callers keep using their columns. */
export function sortedCopy(values: ArrayLike<number>): Float64Array {
  const copy = Float64Array.from(values);
  copy.sort();
  return copy;
}
