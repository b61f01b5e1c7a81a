// What the benchmarks ran on and with: the machine (CPU, cores and any cgroup CPU/memory limit,
// memory, OS, Node) and the versions of everything a figure depends on (Flywheel and its commit,
// the Temporal CLI and server, @temporalio/*, onnxruntime-node, the PostgreSQL server).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { repoRoot } from '../infra/repo-root';
import { findTemporalCli } from '../infra/temporal-cli';
import { adminUrl } from '../test/support/postgres';

export interface MachineInfo {
  cpuModel: string;
  /** Logical CPUs the OS reports. */
  cores: number;
  /** What Node may use (os.availableParallelism). */
  availableParallelism: number;
  /** cgroup v2 cpu.max as CPUs, when a quota is set. */
  cgroupCpuLimit: number | null;
  memoryGiB: number;
  /** cgroup v2 memory.max, when set. */
  cgroupMemoryLimitGiB: number | null;
  os: string;
  kernel: string;
  arch: string;
  node: string;
}

export interface Versions {
  flywheel: string;
  /** git commit of the working tree, "+dirty" when it has uncommitted changes. */
  commit: string;
  node: string;
  temporalCli: string;
  temporalio: Record<string, string>;
  onnxruntimeNode: string;
  postgres: string;
}

const gib = (bytes: number) => Math.round((bytes / 1024 ** 3) * 10) / 10;

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function osName(): string {
  const release = readText('/etc/os-release');
  const pretty = release?.match(/^PRETTY_NAME="?([^"\n]+)"?/m)?.[1];
  return pretty ?? `${os.type()} ${os.release()}`;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  const cpuMax = readText('/sys/fs/cgroup/cpu.max')?.split(/\s+/);
  const cgroupCpuLimit = cpuMax && cpuMax[0] !== 'max' ? Math.round((Number(cpuMax[0]) / Number(cpuMax[1])) * 100) / 100 : null;
  const memMax = readText('/sys/fs/cgroup/memory.max');
  return {
    cpuModel: cpus[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown',
    cores: cpus.length,
    availableParallelism: os.availableParallelism(),
    cgroupCpuLimit: Number.isFinite(cgroupCpuLimit) ? cgroupCpuLimit : null,
    memoryGiB: gib(os.totalmem()),
    cgroupMemoryLimitGiB: memMax && memMax !== 'max' && Number.isFinite(Number(memMax)) ? gib(Number(memMax)) : null,
    os: osName(),
    kernel: os.release(),
    arch: os.arch(),
    node: process.version,
  };
}

/** One line for a suite's record: enough to tell whether two figures came from the same kind of machine. */
export function hostSummary(m: MachineInfo): string {
  const cpus = m.cgroupCpuLimit ?? m.availableParallelism;
  return `${m.cpuModel}, ${cpus} CPUs, ${m.cgroupMemoryLimitGiB ?? m.memoryGiB} GiB, Node ${m.node}`;
}

function packageVersion(dir: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'not installed';
  }
}

function gitCommit(root: string): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return dirty ? `${commit}+dirty` : commit;
  } catch {
    return 'unknown';
  }
}

function temporalCliVersion(): string {
  try {
    // Never installs from here: reading a version must not change the machine.
    const cli = findTemporalCli({ install: false });
    if (!cli) return 'not installed (npm run setup installs it)';
    return execFileSync(cli.path, ['--version'], { encoding: 'utf8', timeout: 15_000 }).trim();
  } catch (error) {
    return `unavailable: ${(error as Error).message.split('\n')[0]}`;
  }
}

async function postgresVersion(): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl(), connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ server_version: string }>('show server_version');
    return rows[0]?.server_version ?? 'unknown';
  } catch (error) {
    return `unavailable: ${(error as Error).message.split('\n')[0]}`;
  } finally {
    await client.end().catch(() => {});
  }
}

export async function collectVersions(): Promise<Versions> {
  const root = repoRoot(__dirname);
  const modules = path.join(root, 'node_modules');
  const temporalio: Record<string, string> = {};
  const scope = path.join(modules, '@temporalio');
  if (existsSync(scope)) {
    for (const name of readdirSync(scope).sort()) {
      if (existsSync(path.join(scope, name, 'package.json'))) temporalio[`@temporalio/${name}`] = packageVersion(path.join(scope, name));
    }
  }
  return {
    flywheel: packageVersion(root),
    commit: gitCommit(root),
    node: process.version,
    temporalCli: temporalCliVersion(),
    temporalio,
    onnxruntimeNode: packageVersion(path.join(modules, 'onnxruntime-node')),
    postgres: await postgresVersion(),
  };
}

// ---- how busy the machine was -------------------------------------------------------------------

export interface CpuShare {
  wallSeconds: number;
  /** CPUs the shares are relative to. */
  cpus: number;
  /** CPU-seconds of the bench process and its descendants (dev server, worker, trainers) and of the PostgreSQL backends serving its databases (flywheel_bench_*). */
  benchCpuSeconds: number;
  /** CPU-seconds of the other PostgreSQL processes (background writers, other databases' backends). */
  postgresCpuSeconds: number;
  /** CPU-seconds of every other process: other work sharing the machine. A lower bound (processes living < 1 sample are missed). */
  otherCpuSeconds: number;
  /** Each as % of the machine's capacity over the wall time (100 = every CPU busy all the time). */
  benchPercent: number;
  postgresPercent: number;
  otherPercent: number;
}

interface ProcSample {
  ppid: number;
  comm: string;
  start: string;
  ticks: number;
}

/** The database a PostgreSQL backend serves is in its process title ("postgres: 15/main: user db host(port) state"). */
const backendTitles = new Map<string, string>();
function processTitle(pid: number, start: string): string {
  const key = `${pid}:${start}`;
  let title = backendTitles.get(key);
  if (title === undefined) {
    try {
      title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      title = '';
    }
    if (backendTitles.size > 5000) backendTitles.clear();
    backendTitles.set(key, title);
  }
  return title;
}

/** Databases the bench creates are named flywheel_bench_<hex> (test/support/postgres createTestDatabase). */
export const BENCH_DATABASE_PATTERN = / flywheel_bench_[0-9a-f]+ /;

function scanProcesses(): Map<number, ProcSample> {
  const out = new Map<number, ProcSample>();
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const text = readFileSync(`/proc/${name}/stat`, 'utf8');
      const open = text.indexOf('(');
      const close = text.lastIndexOf(')');
      // Fields after "(comm)": field n of proc(5) is at index n - 3.
      const f = text.slice(close + 2).split(' ');
      out.set(Number(name), { comm: text.slice(open + 1, close), ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), start: f[19] });
    } catch {
      // exited while we looked
    }
  }
  return out;
}

function descendantsOf(root: number, procs: Map<number, ProcSample>): Set<number> {
  const mine = new Set<number>([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, p] of procs) {
      if (!mine.has(pid) && mine.has(p.ppid)) {
        mine.add(pid);
        grew = true;
      }
    }
  }
  return mine;
}

/**
 * Samples every process's CPU time (from /proc, every `everyMs`) and splits it into the bench's
 * process tree, PostgreSQL and everything else, so a figure measured while other work shared the
 * machine says so. stop() returns the totals; on a system without /proc every share is 0.
 */
export function watchCpu(everyMs = 1000, root: number = process.pid): { stop(): CpuShare } {
  const ticksPerSecond = 100;
  const started = performance.now();
  let previous = scanProcesses();
  let bench = 0;
  let postgres = 0;
  let other = 0;
  const tick = () => {
    const current = scanProcesses();
    const mine = descendantsOf(root, current);
    for (const [pid, p] of current) {
      const before = previous.get(pid);
      // A pid not seen before (or reused) started since the last sample: all of its time is new.
      const delta = before && before.start === p.start ? p.ticks - before.ticks : p.ticks;
      if (delta <= 0) continue;
      if (mine.has(pid)) bench += delta;
      else if (p.comm.startsWith('postgres')) {
        if (BENCH_DATABASE_PATTERN.test(processTitle(pid, p.start))) bench += delta;
        else postgres += delta;
      } else other += delta;
    }
    previous = current;
  };
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      tick();
      const wallSeconds = (performance.now() - started) / 1000;
      const cpus = machineInfo().cgroupCpuLimit ?? os.availableParallelism();
      const pct = (ticks: number) => (wallSeconds > 0 ? Math.round((ticks / ticksPerSecond / (wallSeconds * cpus)) * 1000) / 10 : 0);
      return {
        wallSeconds: Math.round(wallSeconds * 10) / 10,
        cpus,
        benchCpuSeconds: bench / ticksPerSecond,
        postgresCpuSeconds: postgres / ticksPerSecond,
        otherCpuSeconds: other / ticksPerSecond,
        benchPercent: pct(bench),
        postgresPercent: pct(postgres),
        otherPercent: pct(other),
      };
    },
  };
}
