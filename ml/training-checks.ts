// Input and option checks shared by the built-in trainers; each error names the field and the fix.
import { assertFiniteMatrix, assertMatrixShape, type DatasetMatrix } from './dataset-matrix';

/** Shape, non-emptiness, one label per row, finite features. */
export function assertLabelledData(X: DatasetMatrix, y: ArrayLike<number>, label: string): void {
  assertMatrixShape(X, label);
  if (X.rows === 0) throw new Error(`${label} has 0 rows; training needs at least one labelled row`);
  if (X.cols === 0) throw new Error(`${label} has 0 features; give at least one feature column`);
  if (y.length !== X.rows) {
    throw new Error(`${label} has ${X.rows} rows but ${y.length} labels; give exactly one label per row`);
  }
  assertFiniteMatrix(X, label);
}

/** Labels must be exactly 0 or 1; returns the count of 1s. */
export function assertBinaryLabels(y: ArrayLike<number>, label: string): number {
  let positives = 0;
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (v === 1) positives += 1;
    else if (v !== 0) {
      throw new Error(`${label} labels must be 0 or 1, but row ${i} has label ${v}; map classes to 0/1 first`);
    }
  }
  return positives;
}

export function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`option ${name} must be a positive integer, got ${value}`);
  return value;
}

export function positiveNumber(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`option ${name} must be a finite number > 0, got ${value}`);
  return value;
}

export function nonNegativeNumber(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new Error(`option ${name} must be a finite number >= 0, got ${value}`);
  return value;
}
