// Locates the repository root so tools installed under it (.tools/) are found from any cwd.
import { existsSync } from 'node:fs';
import path from 'node:path';

export function repoRoot(start: string = __dirname): string {
  let dir = path.resolve(start);
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'workflows'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the Flywheel repository root above ${start}`);
    dir = parent;
  }
}

/** Where the project keeps its local state (embedded Postgres, file:// artifacts, dev-server db). */
export function dataDir(): string {
  return process.env.FLYWHEEL_DATA_DIR || path.join(repoRoot(), '.flywheel');
}
