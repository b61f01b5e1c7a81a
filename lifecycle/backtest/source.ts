// Where a backtest's history comes from — a named simulator scenario or a labelled file — and the
// model it retrains: resolves the CLI's source options into the engine's inputs.
import { readFileSync } from 'node:fs';
import { parseModelSpec, type ModelSpec } from '../../spec/model-spec';
import { historyFromFile } from './file-history';
import { DAY_MS, firstDays, historyDays, historyStartMs, type LabelledHistory } from './history';
import { checkedSpec, defaultBacktestSpec } from './model-spec';
import { backtestScenario } from './scenarios';
import { simulatedHistory, simulatorFeatureSpecs } from './simulated-history';

export interface BacktestSourceOptions {
  simulate?: string;
  file?: string;
  timestampColumn?: string;
  labelColumn?: string;
  entityColumn?: string;
  /** A model spec JSON file: its features, data window, curation and trainer. */
  specFile?: string;
  days?: number;
  rowsPerDay?: number;
  seed?: number;
  /** Drift onsets for a file: day indices, or ISO dates (converted to days from day 0). */
  onsets?: string[];
}

export interface BacktestSource {
  history: LabelledHistory;
  spec: ModelSpec;
  onsets: number[];
  description: string;
}

function readSpecFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`--spec ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`--spec ${file} is not valid JSON: ${(error as Error).message}`);
  }
}

function positiveInteger(flag: string, value: number | undefined, fallback: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got ${value}`);
  return n;
}

/** "30" → day 30; "2026-01-31" → its day index from day 0. */
export function parseOnset(text: string, startMs: number): number {
  if (/^\d+$/.test(text.trim())) return Number(text);
  const ms = new Date(text).getTime();
  if (Number.isNaN(ms)) throw new Error(`--onset ${text} must be a day index (e.g. 30) or an ISO date (e.g. 2026-01-31)`);
  return Math.floor((ms - startMs) / DAY_MS);
}

export async function loadBacktestSource(options: BacktestSourceOptions): Promise<BacktestSource> {
  if (!options.simulate === !options.file) throw new Error('give exactly one of --simulate <scenario> or --file <labelled history (csv, parquet or arrow)>');
  if (options.simulate) {
    if (options.onsets?.length) throw new Error('--onset is for --file histories; a simulated scenario knows its own drift onsets');
    if (options.specFile) throw new Error('--spec is for --file histories; a simulated scenario uses the simulator\'s CTR features and the default trainer');
    const days = positiveInteger('--days', options.days, 60);
    const scenario = backtestScenario(options.simulate, days);
    const rowsPerDay = positiveInteger('--rows-per-day', options.rowsPerDay, 1000);
    const seed = options.seed ?? 1;
    if (!Number.isSafeInteger(seed)) throw new Error(`--seed must be an integer, got ${options.seed}`);
    const history = simulatedHistory({ days, rowsPerDay, seed, drift: scenario.drift });
    return {
      history,
      spec: defaultBacktestSpec(simulatorFeatureSpecs(), 'binary_classification'),
      onsets: scenario.onsets,
      description: `simulated scenario "${scenario.name}" (seed ${seed}, ${rowsPerDay} rows/day): ${scenario.description}`,
    };
  }
  if (options.rowsPerDay !== undefined || options.seed !== undefined) throw new Error('--rows-per-day and --seed are for --simulate; a file is replayed as it is');
  const declared = options.specFile ? parseModelSpec(readSpecFile(options.specFile)) : undefined;
  const loaded = await historyFromFile(options.file!, {
    timestampColumn: options.timestampColumn,
    labelColumn: options.labelColumn,
    entityColumn: options.entityColumn,
    features: declared?.features,
  });
  const history = options.days !== undefined ? firstDays(loaded.history, positiveInteger('--days', options.days, 1)) : loaded.history;
  const spec = declared ? checkedSpec(declared, loaded.task) : defaultBacktestSpec(loaded.features, loaded.task);
  const startMs = historyStartMs(history);
  const onsets = (options.onsets ?? []).map((text) => parseOnset(text, startMs));
  const total = historyDays(history);
  for (const onset of onsets) if (onset < 0 || onset >= total) throw new Error(`--onset day ${onset} is outside the history's ${total} days`);
  return {
    history,
    spec,
    onsets,
    description: `${loaded.file}: ${history.eventTimeMs.length} labelled rows (${loaded.task})${loaded.droppedRows ? `, ${loaded.droppedRows} rows with a missing numeric feature dropped` : ''}`,
  };
}
