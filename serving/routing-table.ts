// The routing table of one model as the server uses it (champion, canary share, shadow versions,
// A/B arms, interleaving arms) and the pure rules that send a request to a version. The same
// rules answer "which version served unit X at time t" from the deployment history.
import { assignmentBucket, inFirstPercent } from '../experiments/assignment';
import type { DeploymentMode } from '../lineage/schema';

export type ServedMode = 'champion' | 'canary' | 'ab' | 'interleaving';

export interface RoutedVersion {
  versionId: string;
  artifactUri: string;
}

export interface ModelRouting {
  model: string;
  /** routing_state.revision when the table was read (0 before any change). */
  revision: number;
  champion: RoutedVersion | null;
  canary: (RoutedVersion & { percent: number; salt: string }) | null;
  /** Arms in label order; units in a bucket past the arms' total stay on the champion. */
  ab: { salt: string; arms: Array<RoutedVersion & { arm: string; percent: number }> } | null;
  /** Versions scoring a mirrored share of requests, off the request path. */
  shadows: Array<RoutedVersion & { percent: number }>;
  /** Ranking requests (POST /rank) in the first `percent` buckets get A and B interleaved. */
  interleaving: { salt: string; percent: number; a: RoutedVersion; b: RoutedVersion } | null;
}

/** An active deployments row with its version's artifact, as lineage/routing.ts reads it. */
export interface ActiveDeploymentRow {
  version_id: string;
  mode: DeploymentMode;
  traffic_percent: number;
  arm: string | null;
  salt: string | null;
  artifact_uri: string;
}

export interface RouteDecision {
  versionId: string;
  mode: Exclude<ServedMode, 'interleaving'>;
  /** A/B arm label when mode is ab. */
  arm: string | null;
}

/** Salt used when a row has none (rows written by hand or by older code): still sticky. */
export const DEFAULT_SALT = 'flywheel';

export function emptyRouting(model: string, revision = 0): ModelRouting {
  return { model, revision, champion: null, canary: null, ab: null, shadows: [], interleaving: null };
}

/** Builds the table from a model's active rows; inconsistent rows (two canaries...) are reported, not guessed at. */
export function buildRouting(model: string, revision: number, rows: readonly ActiveDeploymentRow[]): ModelRouting {
  const routing = emptyRouting(model, revision);
  const version = (row: ActiveDeploymentRow): RoutedVersion => ({ versionId: row.version_id, artifactUri: row.artifact_uri });
  const abArms: Array<RoutedVersion & { arm: string; percent: number; salt: string }> = [];
  const interleaving: Array<{ arm: string; percent: number; salt: string; version: RoutedVersion }> = [];
  for (const row of rows) {
    switch (row.mode) {
      case 'champion':
        if (routing.champion) throw new Error(`routing for ${model}: two active champion rows (${routing.champion.versionId}, ${row.version_id})`);
        routing.champion = version(row);
        break;
      case 'canary':
        if (routing.canary) throw new Error(`routing for ${model}: two active canary rows (${routing.canary.versionId}, ${row.version_id})`);
        routing.canary = { ...version(row), percent: row.traffic_percent, salt: row.salt ?? DEFAULT_SALT };
        break;
      case 'shadow':
        routing.shadows.push({ ...version(row), percent: row.traffic_percent });
        break;
      case 'ab':
        abArms.push({ ...version(row), arm: row.arm ?? row.version_id, percent: row.traffic_percent, salt: row.salt ?? DEFAULT_SALT });
        break;
      case 'interleaving':
        interleaving.push({ arm: row.arm ?? '', percent: row.traffic_percent, salt: row.salt ?? DEFAULT_SALT, version: version(row) });
        break;
    }
  }
  if (abArms.length > 0) {
    abArms.sort((x, y) => (x.arm < y.arm ? -1 : x.arm > y.arm ? 1 : 0));
    routing.ab = { salt: abArms[0].salt, arms: abArms.map(({ salt: _salt, ...arm }) => arm) };
  }
  if (interleaving.length > 0) {
    const a = interleaving.find((x) => x.arm === 'A');
    const b = interleaving.find((x) => x.arm === 'B');
    if (!a || !b || interleaving.length !== 2) throw new Error(`routing for ${model}: interleaving needs exactly arms A and B, got ${interleaving.map((x) => x.arm).join(', ')}`);
    routing.interleaving = { salt: a.salt, percent: a.percent, a: a.version, b: b.version };
  }
  routing.shadows.sort((x, y) => (x.versionId < y.versionId ? -1 : 1));
  return routing;
}

/**
 * The version that serves a prediction. A/B arms take precedence over a canary (a model runs one
 * experiment at a time; the rollout workflow enforces it), then the canary share, then the
 * champion. Without a unit id the request id is hashed: assignment is then per request, not sticky.
 */
export function routePrediction(routing: ModelRouting, unitId: string | null, requestId: string): RouteDecision | null {
  const key = unitId ?? requestId;
  if (routing.ab) {
    const bucket = assignmentBucket(routing.ab.salt, key);
    let upTo = 0;
    for (const arm of routing.ab.arms) {
      upTo += arm.percent;
      if (inFirstPercent(bucket, upTo)) return { versionId: arm.versionId, mode: 'ab', arm: arm.arm };
    }
  } else if (routing.canary && inFirstPercent(assignmentBucket(routing.canary.salt, key), routing.canary.percent)) {
    return { versionId: routing.canary.versionId, mode: 'canary', arm: null };
  }
  return routing.champion ? { versionId: routing.champion.versionId, mode: 'champion', arm: null } : null;
}

/** Shadow versions that also score this request (never the one that served it). Mirroring is sampled per request. */
export function shadowsFor(routing: ModelRouting, requestId: string, servedVersionId: string): RoutedVersion[] {
  const out: RoutedVersion[] = [];
  for (const shadow of routing.shadows) {
    if (shadow.versionId === servedVersionId) continue;
    if (shadow.percent >= 100 || inFirstPercent(assignmentBucket(`shadow:${shadow.versionId}`, requestId), shadow.percent)) out.push(shadow);
  }
  return out;
}

/** Whether this ranking request is interleaved (sticky per unit, like every other split). */
export function interleaves(routing: ModelRouting, unitId: string | null, requestId: string): boolean {
  if (!routing.interleaving) return false;
  return inFirstPercent(assignmentBucket(routing.interleaving.salt, unitId ?? requestId), routing.interleaving.percent);
}

/** Every version the table names: what the server must have loaded before it swaps to the table. */
export function versionsOf(routing: ModelRouting): RoutedVersion[] {
  const all = new Map<string, RoutedVersion>();
  const add = (v: RoutedVersion | null | undefined) => {
    if (v) all.set(v.versionId, { versionId: v.versionId, artifactUri: v.artifactUri });
  };
  add(routing.champion);
  add(routing.canary);
  routing.ab?.arms.forEach(add);
  routing.shadows.forEach(add);
  add(routing.interleaving?.a);
  add(routing.interleaving?.b);
  return [...all.values()];
}
