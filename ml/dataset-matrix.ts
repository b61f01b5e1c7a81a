// Dense row-major feature matrix the built-in trainers consume, with shape and value checks that
// name the offending feature and row.

export interface DatasetMatrix {
  readonly rows: number;
  readonly cols: number;
  /** Row-major: element (i, j) is data[i * cols + j]. */
  readonly data: Float64Array;
  /** One name per column; the ONNX export records them so serving can check column order. */
  readonly featureNames: readonly string[];
}

/** Wraps (or allocates) row-major data; throws when the shape does not add up. */
export function createMatrix(featureNames: readonly string[], rows: number, data?: Float64Array): DatasetMatrix {
  const cols = featureNames.length;
  const matrix: DatasetMatrix = { rows, cols, data: data ?? new Float64Array(rows * cols), featureNames: [...featureNames] };
  assertMatrixShape(matrix);
  return matrix;
}

export function matrixFromRows(featureNames: readonly string[], rows: ReadonlyArray<ArrayLike<number>>): DatasetMatrix {
  const cols = featureNames.length;
  const data = new Float64Array(rows.length * cols);
  rows.forEach((row, i) => {
    if (row.length !== cols) {
      throw new Error(`matrixFromRows: row ${i} has ${row.length} values but there are ${cols} feature names`);
    }
    for (let j = 0; j < cols; j++) data[i * cols + j] = row[j];
  });
  return createMatrix(featureNames, rows.length, data);
}

/** A view (no copy) of row i. */
export function matrixRow(matrix: DatasetMatrix, i: number): Float64Array {
  return matrix.data.subarray(i * matrix.cols, (i + 1) * matrix.cols);
}

export function matrixGet(matrix: DatasetMatrix, i: number, j: number): number {
  return matrix.data[i * matrix.cols + j];
}

/** Copies the given rows, in the given order (train/validation splits, bootstraps). */
export function selectRows(matrix: DatasetMatrix, indices: ArrayLike<number>): DatasetMatrix {
  const { cols } = matrix;
  const data = new Float64Array(indices.length * cols);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    if (!Number.isInteger(i) || i < 0 || i >= matrix.rows) {
      throw new Error(`selectRows: index ${i} at position ${k} is outside 0..${matrix.rows - 1}`);
    }
    data.set(matrix.data.subarray(i * cols, (i + 1) * cols), k * cols);
  }
  return createMatrix(matrix.featureNames, indices.length, data);
}

/** ONNX Runtime takes float32 input. */
export function matrixToFloat32(matrix: DatasetMatrix): Float32Array {
  return Float32Array.from(matrix.data);
}

export function assertMatrixShape(matrix: DatasetMatrix, label = 'X'): void {
  const { rows, cols, data, featureNames } = matrix;
  if (!Number.isInteger(rows) || rows < 0) throw new Error(`${label}: rows must be a non-negative integer, got ${rows}`);
  if (!Number.isInteger(cols) || cols < 0) throw new Error(`${label}: cols must be a non-negative integer, got ${cols}`);
  if (featureNames.length !== cols) {
    throw new Error(`${label} has ${cols} columns but ${featureNames.length} feature names; give one name per column`);
  }
  if (data.length !== rows * cols) {
    throw new Error(`${label}: data has ${data.length} values but rows x cols = ${rows} x ${cols} = ${rows * cols}`);
  }
  // Duplicate names would make the name-based column check at serving time ambiguous.
  const seen = new Set<string>();
  for (const name of featureNames) {
    if (seen.has(name)) throw new Error(`${label}: feature name "${name}" appears more than once; names must be unique`);
    seen.add(name);
  }
}

/** Throws on the first NaN or +-Infinity, naming the feature and the row so the data can be fixed. */
export function assertFiniteMatrix(matrix: DatasetMatrix, label = 'X'): void {
  const { rows, cols, data, featureNames } = matrix;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const value = data[i * cols + j];
      if (!Number.isFinite(value)) {
        throw new Error(
          `${label} has a non-finite value (${value}) in feature "${featureNames[j]}" (column ${j}) at row ${i}; ` +
            'impute or drop it before training',
        );
      }
    }
  }
}

/** Column order matters to a linear model, so names must match exactly, in order. */
export function assertSameFeatures(expected: readonly string[], actual: readonly string[], context: string): void {
  if (expected.length !== actual.length) {
    throw new Error(`${context}: expected ${expected.length} features [${expected.join(', ')}] but got ${actual.length} [${actual.join(', ')}]`);
  }
  for (let j = 0; j < expected.length; j++) {
    if (expected[j] !== actual[j]) {
      throw new Error(
        `${context}: feature ${j} is "${actual[j]}" but the model expects "${expected[j]}"; ` +
          'reorder the columns to the model\'s feature order (a changed feature set needs a full retrain)',
      );
    }
  }
}
