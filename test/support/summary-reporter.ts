// Prints the plain closing line CI reads ("N passed, N failed, N skipped") after vitest's own output.
import type { Reporter } from 'vitest/reporters';

type TaskLike = { type: string; result?: { state?: string }; mode?: string; tasks?: TaskLike[] };

function count(tasks: TaskLike[], totals: { passed: number; failed: number; skipped: number }): void {
  for (const task of tasks) {
    if (task.tasks) count(task.tasks, totals);
    if (task.type !== 'test') continue;
    const state = task.result?.state;
    if (state === 'pass') totals.passed++;
    else if (state === 'fail') totals.failed++;
    else totals.skipped++;
  }
}

export default class SummaryReporter implements Reporter {
  onFinished(files: TaskLike[] = [], errors: unknown[] = []): void {
    const totals = { passed: 0, failed: 0, skipped: 0 };
    count(files, totals);
    // A file that fails to load has no tests but must still count as a failure.
    const failedFiles = files.filter((f) => f.result?.state === 'fail' && !(f.tasks ?? []).length).length;
    totals.failed += failedFiles + errors.length;
    console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
  }
}
