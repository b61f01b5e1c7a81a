// One process per embedded database folder: a second opener gets a clear error naming the holder;
// a lock left by a crashed process is taken over.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockPgliteDir } from '../../lineage/pglite-lock';

describe('lockPgliteDir', () => {
  it('refuses a folder another live process holds, naming it and the fix', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pglite-lock-'));
    const holder = spawn('sleep', ['30']);
    try {
      writeFileSync(path.join(dir, 'flywheel.lock'), String(holder.pid));
      expect(() => lockPgliteDir(dir)).toThrow(`is in use by process ${holder.pid}`);
      expect(() => lockPgliteDir(dir)).toThrow('set DATABASE_URL to a PostgreSQL server');
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('takes over a stale lock and releases its own', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pglite-lock-'));
    writeFileSync(path.join(dir, 'flywheel.lock'), '999999999');
    const release = lockPgliteDir(dir);
    release();
    lockPgliteDir(dir)();
  });
});
