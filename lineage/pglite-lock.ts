// PGlite is Postgres inside one process: two processes opening the same data folder would corrupt
// it. A lock file holding the owner's pid turns that into a clear error instead.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the folder's lock (or throws naming the process that holds it); returns its release. */
export function lockPgliteDir(dir: string): () => void {
  if (dir.startsWith('memory://')) return () => {};
  mkdirSync(dir, { recursive: true });
  const lockFile = path.join(dir, 'flywheel.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockFile, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lockFile, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(lockFile, 'utf8').trim());
      if (owner && owner !== process.pid && alive(owner)) {
        throw new Error(
          `the embedded database ${dir} is in use by process ${owner} (a running \`flywheel dev\`, demo or worker): ` +
            'PGlite serves one process — stop that process, or set DATABASE_URL to a PostgreSQL server to share lineage between processes',
        );
      }
      // A crashed owner (or this very process, reopening) left it behind: take it over.
      rmSync(lockFile, { force: true });
    }
  }
  throw new Error(`cannot lock the embedded database ${dir}`);
}
