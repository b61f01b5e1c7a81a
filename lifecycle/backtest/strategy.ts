// Parses `--strategy` strings into retraining strategies. Stage 4's settings go through the model
// spec's own zod schema (spec/lifecycle-spec.ts continualSpecSchema), so a backtested trigger
// configuration is exactly one a model spec could declare, with the same defaults and errors.
//
//   stage1                                         train once at the end of warm-up, never again
//   stage2:period=1d[,window=30d]                  stateless retrain on a schedule
//   stage3:period=1d,recalibrate=7[,window=30d]    stateful (warm-start) updates, a full retrain every N
//   stage4:volume=512,performance=auc<0.7,drift=0.25,cooldown=6h[,time=7d][,check=1h][,budget=24]
//          [,recalibrate=7][,performance-window=1000][,drift-window=2000][,window=30d]
// Any strategy takes name=<label> for the report.
import { continualSpecSchema, statefulSpecSchema, type ContinualSpec } from '../../spec/lifecycle-spec';
import { parseDurationMs } from '../../spec/data-spec';

export type StrategyKind = 'stage1' | 'stage2' | 'stage3' | 'stage4';

interface StrategyBase {
  /** Label in tables, charts and JSON (default: the strategy string). */
  name: string;
  /** The text it was parsed from. */
  source: string;
  /** Overrides the spec's data.windowDays for this strategy's full retrains. */
  windowDays?: number;
}

export type RetrainStrategy =
  | (StrategyBase & { kind: 'stage1' })
  | (StrategyBase & { kind: 'stage2'; periodMs: number })
  | (StrategyBase & { kind: 'stage3'; periodMs: number; recalibrateEvery: number })
  | (StrategyBase & { kind: 'stage4'; recalibrateEvery: number; continual: ContinualSpec });

export class StrategyError extends Error {
  override name = 'StrategyError';
}

const ALLOWED: Record<StrategyKind, string[]> = {
  stage1: ['name', 'window'],
  stage2: ['name', 'window', 'period'],
  stage3: ['name', 'window', 'period', 'recalibrate'],
  stage4: ['name', 'window', 'recalibrate', 'time', 'volume', 'performance', 'performance-window', 'drift', 'drift-window', 'cooldown', 'check', 'budget'],
};

function duration(source: string, key: string, value: string): number {
  const ms = parseDurationMs(value);
  if (ms === null) throw new StrategyError(`strategy "${source}": ${key}=${value} is not a duration; use a number and a unit s, m, h or d, e.g. ${key}=1d`);
  return ms;
}

function integer(source: string, key: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new StrategyError(`strategy "${source}": ${key}=${value} must be an integer >= ${min}`);
  return n;
}

function number(source: string, key: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new StrategyError(`strategy "${source}": ${key}=${value} is not a number`);
  return n;
}

/** performance=auc<0.7 | accuracy<0.8 | log_loss>0.5: the operator must match the metric's direction. */
function performanceRule(source: string, value: string): { metric: 'auc' | 'accuracy' | 'log_loss'; bound: number } {
  const match = /^(auc|accuracy|log_loss)\s*([<>])\s*(.+)$/.exec(value.trim());
  if (!match) throw new StrategyError(`strategy "${source}": performance=${value} must read <metric><op><bound>, e.g. performance=auc<0.7 or performance=log_loss>0.6`);
  const metric = match[1] as 'auc' | 'accuracy' | 'log_loss';
  const expected = metric === 'log_loss' ? '>' : '<';
  if (match[2] !== expected) throw new StrategyError(`strategy "${source}": ${metric} fires when it gets worse, which is ${metric}${expected}bound; got performance=${value}`);
  return { metric, bound: number(source, 'performance', match[3]) };
}

/** volume=512 (every 512 new labelled rows) or volume=5% (5% of the champion's training rows). */
function volumeRule(source: string, value: string): { everyRows?: number; percentNew?: number } {
  if (value.endsWith('%')) return { percentNew: number(source, 'volume', value.slice(0, -1)) };
  return { everyRows: integer(source, 'volume', value, 1) };
}

function zodProblems(error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> }): string {
  return error.issues.map((i) => `${i.path.map(String).join('.') || '(settings)'}: ${i.message}`).join('; ');
}

export function parseStrategy(text: string): RetrainStrategy {
  const source = text.trim();
  const [head, rest = ''] = source.split(/:(.*)/s, 2);
  const kind = head.trim() as StrategyKind;
  if (!(kind in ALLOWED)) throw new StrategyError(`strategy "${source}": unknown kind "${head}"; use stage1, stage2, stage3 or stage4 (e.g. stage2:period=1d)`);
  const settings = new Map<string, string>();
  for (const part of rest.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new StrategyError(`strategy "${source}": "${part}" must be key=value`);
    const key = part.slice(0, eq).trim();
    if (!ALLOWED[kind].includes(key)) throw new StrategyError(`strategy "${source}": ${kind} has no setting "${key}"; allowed: ${ALLOWED[kind].join(', ')}`);
    if (settings.has(key)) throw new StrategyError(`strategy "${source}": ${key} is given twice`);
    settings.set(key, part.slice(eq + 1).trim());
  }
  const get = (key: string) => settings.get(key);
  const base: StrategyBase = { name: get('name') || source, source };
  if (get('window') !== undefined) base.windowDays = duration(source, 'window', get('window')!) / 86_400_000;
  const recalibrateEvery = () => {
    const parsed = statefulSpecSchema.safeParse(get('recalibrate') === undefined ? {} : { recalibrateEvery: integer(source, 'recalibrate', get('recalibrate')!, 1) });
    if (!parsed.success) throw new StrategyError(`strategy "${source}": recalibrate: ${zodProblems(parsed.error)}`);
    return parsed.data.recalibrateEvery;
  };

  switch (kind) {
    case 'stage1':
      return { ...base, kind };
    case 'stage2':
      return { ...base, kind, periodMs: duration(source, 'period', get('period') ?? '1d') };
    case 'stage3':
      return { ...base, kind, periodMs: duration(source, 'period', get('period') ?? '1d'), recalibrateEvery: recalibrateEvery() };
    case 'stage4': {
      const triggers: Record<string, unknown> = {};
      if (get('time') !== undefined) triggers.time = { every: get('time') };
      if (get('volume') !== undefined) triggers.volume = volumeRule(source, get('volume')!);
      if (get('performance') !== undefined) {
        triggers.performance = { ...performanceRule(source, get('performance')!), ...(get('performance-window') ? { windowRows: integer(source, 'performance-window', get('performance-window')!, 50) } : {}) };
      } else if (get('performance-window') !== undefined) throw new StrategyError(`strategy "${source}": performance-window needs performance=<metric><op><bound>`);
      if (get('drift') !== undefined) {
        triggers.drift = { shareDrifted: number(source, 'drift', get('drift')!), ...(get('drift-window') ? { windowRows: integer(source, 'drift-window', get('drift-window')!, 50) } : {}) };
      } else if (get('drift-window') !== undefined) throw new StrategyError(`strategy "${source}": drift-window needs drift=<share of drifted features>`);
      // Upstream triggers need another model; a single-model backtest has none.
      triggers.upstream = false;
      if (!triggers.time && !triggers.volume && !triggers.performance && !triggers.drift) {
        throw new StrategyError(`strategy "${source}": stage4 needs at least one trigger: time=, volume=, performance= or drift=`);
      }
      // The production default checks every 5 minutes; replaying hourly checks is the backtest's default (see README).
      const parsed = continualSpecSchema.safeParse({
        checkEvery: get('check') ?? '1h',
        triggers,
        ...(get('cooldown') !== undefined ? { cooldown: get('cooldown') } : {}),
        ...(get('budget') !== undefined ? { dailyBudget: integer(source, 'budget', get('budget')!, 1) } : {}),
      });
      if (!parsed.success) throw new StrategyError(`strategy "${source}": ${zodProblems(parsed.error)}`);
      return { ...base, kind, recalibrateEvery: recalibrateEvery(), continual: parsed.data };
    }
  }
}

/** The stage number the training plan rules see. */
export function stageOf(strategy: RetrainStrategy): number {
  return Number(strategy.kind.slice('stage'.length));
}

/** Names must be unique: they key the report. */
export function parseStrategies(texts: readonly string[]): RetrainStrategy[] {
  if (texts.length === 0) throw new StrategyError('give at least one --strategy, e.g. --strategy stage2:period=1d --strategy stage4:performance=auc<0.7');
  const strategies = texts.map(parseStrategy);
  const seen = new Set<string>();
  for (const s of strategies) {
    if (seen.has(s.name)) throw new StrategyError(`two strategies are named "${s.name}": add name=<label> to one of them`);
    seen.add(s.name);
  }
  return strategies;
}
