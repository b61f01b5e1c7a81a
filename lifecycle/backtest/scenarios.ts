// Named drift scenarios for `flywheel backtest --simulate <name>`: each is a list of the
// simulator's drift specs (scenarios/simulator.ts) on the CTR task plus the days its drifts begin,
// which the report uses as the onsets for time-to-recover.
import type { DriftSpec } from '../../scenarios/simulator';

export interface BacktestScenario {
  name: string;
  description: string;
  drift: DriftSpec[];
  /** Day indices (from the history's day 0) where a drift begins. */
  onsets: number[];
}

/**
 * Every scenario re-weights the CTR task to about 48% positives (label shift by a constant factor
 * 5 from day 0 — part of the base distribution, not a drift). The simulator's natural click rate
 * is about 16%, where a 0.5 threshold calls almost every row negative and accuracy hardly moves
 * whatever the model knows; on a balanced task prequential accuracy shows drift and recovery.
 */
const BALANCED: DriftSpec = { kind: 'label', factor: 5, profile: { shape: 'sudden', atDay: 0 } };

/** The concept that drifts: ad relevance, the strongest true effect (logit 1.2 per unit), reverses. */
const REVERSED_RELEVANCE = -1.2;

export const SCENARIO_NAMES = ['none', 'sudden', 'gradual', 'cyclic', 'temporary', 'covariate', 'label'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export function isScenarioName(name: string): name is ScenarioName {
  return (SCENARIO_NAMES as readonly string[]).includes(name);
}

/** The scenario over `days` days: drifts are placed relative to the length so any --days works. */
export function backtestScenario(name: string, days: number): BacktestScenario {
  if (!isScenarioName(name)) throw new Error(`--simulate: unknown scenario "${name}"; use one of ${SCENARIO_NAMES.join(', ')}`);
  if (!Number.isInteger(days) || days < 4) throw new Error(`--days must be an integer of at least 4 for a simulated backtest, got ${days}`);
  const mid = Math.floor(days / 2);
  const third = Math.floor(days / 3);
  switch (name) {
    case 'none':
      return { name, description: 'stationary: no drift after the base re-weighting', drift: [BALANCED], onsets: [] };
    case 'sudden':
      return {
        name,
        description: `sudden concept drift: the effect of ad_relevance reverses (1.2 → ${REVERSED_RELEVANCE}) at day ${mid}`,
        drift: [BALANCED, { kind: 'concept', feature: 'ad_relevance', weight: REVERSED_RELEVANCE, profile: { shape: 'sudden', atDay: mid } }],
        onsets: [mid],
      };
    case 'gradual':
      return {
        name,
        description: `gradual concept drift: the effect of ad_relevance moves linearly from 1.2 to ${REVERSED_RELEVANCE} over days ${third}-${2 * third}`,
        drift: [BALANCED, { kind: 'concept', feature: 'ad_relevance', weight: REVERSED_RELEVANCE, profile: { shape: 'gradual', fromDay: third, toDay: 2 * third } }],
        onsets: [third],
      };
    case 'cyclic': {
      // A 14-day cycle (two weeks of one regime fading into the other); each cycle's start is an onset.
      const period = 14;
      const onsets: number[] = [];
      for (let d = period; d < days; d += period) onsets.push(d);
      return {
        name,
        description: `cyclic concept drift: the effect of ad_relevance swings between 1.2 and ${REVERSED_RELEVANCE} and back every ${period} days`,
        drift: [BALANCED, { kind: 'concept', feature: 'ad_relevance', weight: REVERSED_RELEVANCE, profile: { shape: 'cyclic', periodDays: period } }],
        onsets,
      };
    }
    case 'temporary':
      return {
        name,
        description: `temporary concept drift: ad_relevance reversed during days ${mid}-${mid + 7}, then back`,
        drift: [BALANCED, { kind: 'concept', feature: 'ad_relevance', weight: REVERSED_RELEVANCE, profile: { shape: 'temporary', fromDay: mid, toDay: mid + 7 } }],
        onsets: [mid, mid + 7],
      };
    case 'covariate':
      return {
        name,
        description: `covariate shift: user_ctr_7d moves up by 1.5 standard deviations at day ${mid} (P(y|x) unchanged)`,
        drift: [BALANCED, { kind: 'covariate', feature: 'user_ctr_7d', shift: 1.5, profile: { shape: 'sudden', atDay: mid } }],
        onsets: [mid],
      };
    case 'label':
      return {
        name,
        description: `label shift: the odds of a click fall 5-fold at day ${mid} (P(x|y) unchanged)`,
        drift: [BALANCED, { kind: 'label', factor: 0.2, profile: { shape: 'sudden', atDay: mid } }],
        onsets: [mid],
      };
  }
}
