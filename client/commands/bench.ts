// `flywheel bench [--only <id|suite>,...] [--quick] [--no-save] [--json]`: the benchmark runner
// (bench/run.ts, the same as `npm run bench`) from the CLI. Progress goes to stderr; --json prints
// one object with each suite's outcome and figures on stdout. Exits 1 when a suite failed.
import type { Command } from 'commander';
import type { Figure } from '../../bench/figure';
import { parseArgs, runBench } from '../../bench/run';

export interface BenchJson {
  quick: boolean;
  ok: boolean;
  suites: Array<{ name: string; ok: boolean; seconds: number; error: string | null; cpu: { benchPercent: number; postgresPercent: number; otherPercent: number } | null; figures: Figure[] }>;
  figures: Figure[];
  written: string[];
  updatedAt: string;
}

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('run the benchmarks in bench/suites/ (all, or --only some) and fold their figures into bench/results.json and RESULTS.md')
    .option('--only <ids>', 'comma-separated figure ids or suite names (bench/suites/<name>.ts); the other figures in results.json are kept')
    .option('--quick', 'smaller inputs and fewer repetitions (a smoke run; figures are marked quick)')
    .option('--no-save', 'do not write bench/results.json and RESULTS.md (print only)')
    .option('--json', 'print the run as one JSON object on stdout (progress on stderr)')
    .action(async (o) => {
      // The runner's own parser validates --only exactly as `npm run bench -- --only …` does.
      const parsed = parseArgs([...(o.only !== undefined ? ['--only', String(o.only)] : []), ...(o.quick ? ['--quick'] : [])]);
      const log = (line: string) => (o.json ? console.error(line) : console.log(line));
      const run = await runBench({ only: parsed.only, quick: parsed.quick, save: o.save !== false, log });
      const value: BenchJson = {
        quick: run.quick,
        ok: run.code === 0,
        suites: run.outcomes.map((s) => ({ name: s.name, ok: s.error === undefined, seconds: s.seconds, error: s.error ?? null, cpu: s.cpu ?? null, figures: s.figures })),
        figures: run.outcomes.flatMap((s) => s.figures),
        written: run.written,
        updatedAt: run.results.updatedAt,
      };
      if (o.json) console.log(JSON.stringify(value));
      if (run.code !== 0) {
        const failed = run.outcomes.filter((s) => s.error !== undefined);
        throw new Error(`${failed.length} benchmark suite(s) failed: ${failed.map((s) => `${s.name} (${s.error})`).join('; ')}`);
      }
    });
}
