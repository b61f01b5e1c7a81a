// A drifting-data simulator that plays the application: day by day it scores requests (with a
// `predict` callback or a constant model), logs the predictions, and logs outcome events when they
// happen — clicks after a delay (some late), arrivals after the actual wait — through the same
// batched production-log API a real service uses. Two tasks: a CTR-like binary task and an ETA
// regression task, with numeric and categorical features. Drifts: covariate shift, label shift,
// concept drift (sudden, gradual, cyclic or temporary), a rare-event spike, new category values
// (cold start) and delayed outcomes. Seeded per day, so any day replays identically.
import type { Kysely } from 'kysely';
import { appendOutcomes, appendPredictions, type OutcomeRecord, type PredictionRecord } from '../lineage/production-log';
import type { Database } from '../lineage/schema';
import { createRng, type Rng } from '../ml/random';

export type SimulatedTask = 'ctr' | 'eta';

/** How strongly a drift applies over time (0 = not at all, 1 = fully); days count from `start`, fractions allowed. */
export type DriftProfile =
  | { shape: 'sudden'; atDay: number }
  | { shape: 'gradual'; fromDay: number; toDay: number }
  | { shape: 'cyclic'; periodDays: number; phaseDays?: number }
  | { shape: 'temporary'; fromDay: number; toDay: number };

export type DriftSpec =
  /** Covariate shift: P(x) moves — `shift` is added to a numeric feature (in its own units). */
  | { kind: 'covariate'; feature: string; shift: number; profile: DriftProfile }
  /**
   * Label shift: P(y) moves while P(x | y) stays — by rejection sampling, the odds of a positive
   * (ctr) or of a wait above the base median (eta) are multiplied by `factor`.
   */
  | { kind: 'label'; factor: number; profile: DriftProfile }
  /** Concept drift: P(y | x) moves — the feature's true effect becomes `weight` (ctr: logit per unit; eta: minutes per unit). */
  | { kind: 'concept'; feature: string; weight: number; profile: DriftProfile }
  /** A rare event: `share` of requests in [fromDay, toDay) are a flash sale (ctr) or a storm (eta), not visible in the features. */
  | { kind: 'spike'; fromDay: number; toDay: number; share: number; effect?: number }
  /** Cold start: from `fromDay`, `share` of requests carry a category value never seen before, with its own effect. */
  | { kind: 'new_category'; feature: string; value: string; fromDay: number; share: number; effect: number };

export interface OutcomeTiming {
  /** ctr: mean click delay in minutes (exponential); default 3. */
  meanDelayMinutes?: number;
  /** ctr: share of clicks that come much later (after typical label windows); default 0.05. */
  lateShare?: number;
  /** ctr: delay of those late clicks, uniform in [min, max] minutes; default [45, 180]. */
  lateDelayMinutes?: [number, number];
  /** eta: share of orders never reported as arrived (no outcome event); default 0.01. */
  lostShare?: number;
}

export interface PredictContext {
  task: SimulatedTask;
  time: Date;
  day: number;
}

export type PredictFn = (features: Record<string, number | string>, context: PredictContext) => number;

export interface SimulationOptions {
  task: SimulatedTask;
  modelName: string;
  /** version_id written on each prediction; default "<model>@sim". */
  versionId?: string;
  /** First day (UTC midnight recommended). */
  start: Date | string;
  days: number;
  rowsPerDay: number;
  seed?: number;
  drift?: DriftSpec[];
  /** The model the application serves; default a constant (see constantPrediction). */
  predict?: PredictFn;
  /** Default 0.1 (ctr) or 20 minutes (eta). */
  constantPrediction?: number;
  outcomes?: OutcomeTiming;
  /** Also write outcomes that occur after the last simulated day (default false: they have not happened yet). */
  flushOutcomes?: boolean;
  /** Day index to begin at (to continue a simulation); default 0. */
  firstDay?: number;
}

export interface SimulatedDay {
  predictions: PredictionRecord[];
  /** Every outcome these predictions will ever produce, with its occurrence time. */
  outcomes: OutcomeRecord[];
  /** The true label of each prediction (ctr: 0/1; eta: minutes), for checks. */
  truth: number[];
}

export interface DaySummary {
  day: number;
  date: string;
  predictions: number;
  /** Outcomes written during this day (some belong to earlier days' predictions). */
  outcomesWritten: number;
  /** Mean true label of the day's predictions (ctr: click rate; eta: mean minutes). */
  meanLabel: number;
}

export interface SimulationSummary {
  days: DaySummary[];
  predictions: number;
  outcomesWritten: number;
  /** Outcomes that will occur after the last simulated day and were not written. */
  outcomesNotYetOccurred: number;
}

export class SimulatorError extends Error {
  override name = 'SimulatorError';
}

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

/** The features each task produces, in spec form (numeric unless marked), for model specs in tests and demos. */
export const SIMULATOR_FEATURES: Record<SimulatedTask, { name: string; type: 'numeric' | 'categorical' }[]> = {
  ctr: [
    { name: 'ad_relevance', type: 'numeric' },
    { name: 'user_ctr_7d', type: 'numeric' },
    { name: 'position', type: 'numeric' },
    { name: 'hour_sin', type: 'numeric' },
    { name: 'device', type: 'categorical' },
  ],
  eta: [
    { name: 'distance_km', type: 'numeric' },
    { name: 'traffic_index', type: 'numeric' },
    { name: 'hour_sin', type: 'numeric' },
    { name: 'vehicle', type: 'categorical' },
  ],
};

/** The outcome event type each task logs. */
export const SIMULATOR_EVENTS: Record<SimulatedTask, string> = { ctr: 'click', eta: 'arrived' };

// Ground truth. ctr: logistic in the features (base click rate about 10%); eta: minutes from distance,
// vehicle speed and traffic.
const CTR_WEIGHTS: Record<string, number> = { ad_relevance: 1.2, user_ctr_7d: 0.8, position: -0.5, hour_sin: 0.3 };
const CTR_BIAS = -2.4;
const DEVICES = [
  { value: 'mobile', share: 0.55, effect: 0 },
  { value: 'desktop', share: 0.35, effect: 0.3 },
  { value: 'tablet', share: 0.1, effect: -0.2 },
];
const ETA_WEIGHTS: Record<string, number> = { distance_km: 0, traffic_index: 8, hour_sin: 1.5 };
const VEHICLES = [
  { value: 'bike', share: 0.4, effect: 12 },
  { value: 'scooter', share: 0.35, effect: 20 },
  { value: 'car', share: 0.25, effect: 25 },
];
/** The ETA label above which label shift (eta) reweights: roughly the base median wait. */
const ETA_MEDIAN_MINUTES = 22;

export function driftIntensity(profile: DriftProfile, day: number): number {
  switch (profile.shape) {
    case 'sudden':
      return day >= profile.atDay ? 1 : 0;
    case 'gradual':
      return profile.toDay <= profile.fromDay ? (day >= profile.toDay ? 1 : 0) : Math.min(1, Math.max(0, (day - profile.fromDay) / (profile.toDay - profile.fromDay)));
    case 'cyclic':
      return 0.5 * (1 - Math.cos((2 * Math.PI * (day - (profile.phaseDays ?? 0))) / profile.periodDays));
    case 'temporary':
      return day >= profile.fromDay && day < profile.toDay ? 1 : 0;
  }
}

function checkOptions(options: SimulationOptions): void {
  const features = SIMULATOR_FEATURES[options.task];
  if (!features) throw new SimulatorError(`task must be "ctr" or "eta", got ${JSON.stringify(options.task)}`);
  if (!Number.isInteger(options.days) || options.days < 1) throw new SimulatorError(`days must be a positive integer, got ${options.days}`);
  if (!Number.isInteger(options.rowsPerDay) || options.rowsPerDay < 1) throw new SimulatorError(`rowsPerDay must be a positive integer, got ${options.rowsPerDay}`);
  if (Number.isNaN(new Date(options.start).getTime())) throw new SimulatorError(`start ${JSON.stringify(options.start)} is not a valid date: use an ISO 8601 date`);
  const numeric = features.filter((f) => f.type === 'numeric').map((f) => f.name);
  const categorical = features.filter((f) => f.type === 'categorical').map((f) => f.name);
  (options.drift ?? []).forEach((drift, i) => {
    if ((drift.kind === 'covariate' || drift.kind === 'concept') && !numeric.includes(drift.feature)) {
      throw new SimulatorError(`drift[${i}].feature: "${drift.feature}" is not a numeric feature of the ${options.task} task (${numeric.join(', ')})`);
    }
    if (drift.kind === 'new_category' && !categorical.includes(drift.feature)) {
      throw new SimulatorError(`drift[${i}].feature: "${drift.feature}" is not a categorical feature of the ${options.task} task (${categorical.join(', ')})`);
    }
    if ((drift.kind === 'spike' || drift.kind === 'new_category') && !(drift.share >= 0 && drift.share <= 1)) {
      throw new SimulatorError(`drift[${i}].share must be in [0, 1], got ${drift.share}`);
    }
    if (drift.kind === 'label' && !(drift.factor > 0)) throw new SimulatorError(`drift[${i}].factor must be positive, got ${drift.factor}`);
    if ('profile' in drift && drift.profile.shape === 'cyclic' && !(drift.profile.periodDays > 0)) {
      throw new SimulatorError(`drift[${i}].profile.periodDays must be positive, got ${drift.profile.periodDays}`);
    }
  });
}

function pickCategory(rng: Rng, options: { value: string; share: number; effect: number }[]): { value: string; effect: number } {
  let u = rng.next();
  for (const option of options) {
    if (u < option.share) return option;
    u -= option.share;
  }
  return options[options.length - 1];
}

function exponential(rng: Rng, mean: number): number {
  return -Math.log(1 - rng.next()) * mean;
}

interface Candidate {
  features: Record<string, number | string>;
  truth: number;
  /** eta only: the order is never reported as arrived. */
  lost: boolean;
}

/** One request's features and true outcome at fractional day `t`, under the drifts active then. */
function drawCandidate(task: SimulatedTask, rng: Rng, time: Date, t: number, drifts: DriftSpec[], timing: OutcomeTiming): Candidate {
  const hour = time.getUTCHours() + time.getUTCMinutes() / 60;
  const hourSin = Math.sin((2 * Math.PI * hour) / 24);
  const weights = { ...(task === 'ctr' ? CTR_WEIGHTS : ETA_WEIGHTS) };
  const features: Record<string, number | string> = {};
  let spike = false;
  let coldStart: { feature: string; value: string; effect: number } | null = null;
  for (const drift of drifts) {
    if (drift.kind === 'concept') weights[drift.feature] += (drift.weight - weights[drift.feature]) * driftIntensity(drift.profile, t);
    if (drift.kind === 'spike' && t >= drift.fromDay && t < drift.toDay && rng.next() < drift.share) spike = true;
    if (drift.kind === 'new_category' && t >= drift.fromDay && rng.next() < drift.share) coldStart = drift;
  }
  const shift = (name: string) =>
    drifts.reduce((sum, d) => (d.kind === 'covariate' && d.feature === name ? sum + d.shift * driftIntensity(d.profile, t) : sum), 0);

  if (task === 'ctr') {
    features.ad_relevance = rng.normal() + shift('ad_relevance') + (spike ? 2 : 0);
    features.user_ctr_7d = rng.normal() + shift('user_ctr_7d');
    features.position = 1 + rng.nextInt(5) + shift('position');
    features.hour_sin = hourSin + shift('hour_sin');
    const device = pickCategory(rng, DEVICES);
    features.device = coldStart?.feature === 'device' ? coldStart.value : device.value;
    let logit = CTR_BIAS + (coldStart?.feature === 'device' ? coldStart.effect : device.effect);
    for (const [name, w] of Object.entries(weights)) logit += w * ((features[name] as number) - (name === 'position' ? 3 : 0));
    if (spike) logit += drifts.find((d) => d.kind === 'spike')?.effect ?? 3;
    return { features, truth: rng.next() < 1 / (1 + Math.exp(-logit)) ? 1 : 0, lost: false };
  }
  features.distance_km = Math.exp(1.2 + 0.5 * rng.normal()) + shift('distance_km');
  features.traffic_index = rng.next() + shift('traffic_index') + (spike ? 0.5 : 0);
  features.hour_sin = hourSin + shift('hour_sin');
  const vehicle = pickCategory(rng, VEHICLES);
  features.vehicle = coldStart?.feature === 'vehicle' ? coldStart.value : vehicle.value;
  const speed = coldStart?.feature === 'vehicle' ? Math.max(1, coldStart.effect) : vehicle.effect;
  let minutes = 4 + (60 * Math.max(0.1, features.distance_km as number)) / speed;
  for (const [name, w] of Object.entries(weights)) minutes += w * (features[name] as number);
  if (spike) minutes *= 1 + (drifts.find((d) => d.kind === 'spike')?.effect ?? 0.8);
  minutes = Math.max(1, minutes + 2 * rng.normal());
  return { features, truth: Math.round(minutes * 100) / 100, lost: rng.next() < (timing.lostShare ?? 0.01) };
}

/** Label shift by rejection: keep a candidate with probability min(1, w) for "high" labels and min(1, 1/w) otherwise. */
function accepted(task: SimulatedTask, truth: number, t: number, drifts: DriftSpec[], rng: Rng): boolean {
  let factor = 1;
  for (const drift of drifts) if (drift.kind === 'label') factor *= drift.factor ** driftIntensity(drift.profile, t);
  if (factor === 1) return true;
  const high = task === 'ctr' ? truth === 1 : truth > ETA_MEDIAN_MINUTES;
  return rng.next() < Math.min(1, high ? factor : 1 / factor);
}

function dayStamp(date: Date): string {
  return date.toISOString().slice(0, 10).replace(/-/g, '');
}

/** One simulated day: every prediction and every outcome those predictions will produce. Pure. */
export function generateDay(options: SimulationOptions, day: number): SimulatedDay {
  checkOptions(options);
  const { task, modelName } = options;
  // Seeded per day: day 5 is the same whether or not days 0-4 were simulated in this process.
  const rng = createRng(((options.seed ?? 1) * 1_000_003 + day * 7_919) % 2_147_483_647);
  const drifts = options.drift ?? [];
  const timing = options.outcomes ?? {};
  const dayStart = new Date(options.start).getTime() + day * DAY_MS;
  const versionId = options.versionId ?? `${modelName}@sim`;
  const constant = options.constantPrediction ?? (task === 'ctr' ? 0.1 : 20);
  const predictions: PredictionRecord[] = [];
  const outcomes: OutcomeRecord[] = [];
  const truth: number[] = [];
  const width = String(options.rowsPerDay).length;
  for (let i = 0; i < options.rowsPerDay; i++) {
    // Evenly spread, jittered request times keep every hour of the day populated and in order.
    const at = new Date(Math.floor(dayStart + ((i + rng.next()) / options.rowsPerDay) * DAY_MS));
    const t = day + (at.getTime() - dayStart) / DAY_MS;
    let candidate = drawCandidate(task, rng, at, t, drifts, timing);
    for (let tries = 0; tries < 1000 && !accepted(task, candidate.truth, t, drifts, rng); tries++) candidate = drawCandidate(task, rng, at, t, drifts, timing);
    const requestId = `${modelName}-${dayStamp(at)}-${String(i).padStart(width, '0')}`;
    const unitId = task === 'ctr' ? `user-${rng.nextInt(5_000)}` : `order-${requestId}`;
    const prediction = options.predict ? options.predict(candidate.features, { task, time: at, day }) : constant;
    predictions.push({ requestId, modelName, versionId, mode: 'served', unitId, features: candidate.features, prediction, predictedAt: at });
    truth.push(candidate.truth);
    if (task === 'ctr' && candidate.truth === 1) {
      const [lo, hi] = timing.lateDelayMinutes ?? [45, 180];
      const delay = rng.next() < (timing.lateShare ?? 0.05) ? lo + rng.next() * (hi - lo) : exponential(rng, timing.meanDelayMinutes ?? 3);
      outcomes.push({ requestId, unitId, modelName, eventType: 'click', value: 1, occurredAt: new Date(at.getTime() + Math.max(1, Math.round(delay * MINUTE_MS))) });
    } else if (task === 'eta' && !candidate.lost) {
      // The outcome arrives when the wait is over: the feedback delay is the label itself.
      outcomes.push({ requestId, unitId, modelName, eventType: 'arrived', value: candidate.truth, occurredAt: new Date(at.getTime() + Math.round(candidate.truth * MINUTE_MS)) });
    }
  }
  return { predictions, outcomes, truth };
}

/**
 * Runs the application day by day: logs each day's predictions, and each outcome on the day it
 * occurs (outcomes of late-evening requests land the next day). Outcomes due after the last day
 * stay unwritten unless flushOutcomes is set, exactly as a service stopped at that moment would leave them.
 */
export async function simulateDays(db: Kysely<Database>, options: SimulationOptions): Promise<SimulationSummary> {
  checkOptions(options);
  const first = options.firstDay ?? 0;
  let waiting: OutcomeRecord[] = [];
  const days: DaySummary[] = [];
  let predictions = 0;
  let outcomesWritten = 0;
  for (let day = first; day < first + options.days; day++) {
    const generated = generateDay(options, day);
    await appendPredictions(db, generated.predictions);
    predictions += generated.predictions.length;
    waiting.push(...generated.outcomes);
    const dayEnd = new Date(options.start).getTime() + (day + 1) * DAY_MS;
    const due = waiting.filter((o) => new Date(o.occurredAt).getTime() < dayEnd);
    waiting = waiting.filter((o) => new Date(o.occurredAt).getTime() >= dayEnd);
    due.sort((a, b) => new Date(a.occurredAt).getTime() - new Date(b.occurredAt).getTime());
    const written = await appendOutcomes(db, due);
    outcomesWritten += written;
    days.push({
      day,
      date: new Date(dayEnd - DAY_MS).toISOString().slice(0, 10),
      predictions: generated.predictions.length,
      outcomesWritten: written,
      meanLabel: generated.truth.reduce((a, b) => a + b, 0) / generated.truth.length,
    });
  }
  if (options.flushOutcomes) {
    outcomesWritten += await appendOutcomes(db, waiting);
    waiting = [];
  }
  return { days, predictions, outcomesWritten, outcomesNotYetOccurred: waiting.length };
}
