// Model dependency graph (spec.dependsOn): refuses cycles at apply time and orders the dependants
// a new upstream champion must retrain, upstream first.

export type DependencyGraph = Map<string, string[]>;

/** Returns one cycle as a path (a → b → a), or null. */
export function findCycle(graph: DependencyGraph): string[] | null {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | null => {
    if (state.get(node) === 'done') return null;
    if (state.get(node) === 'visiting') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'visiting');
    stack.push(node);
    for (const upstream of graph.get(node) ?? []) {
      const cycle = visit(upstream);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, 'done');
    return null;
  };
  for (const node of [...graph.keys()].sort()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return null;
}

/** Every model that depends on `model` directly or transitively, each after all of its own upstreams. */
export function dependantsInOrder(graph: DependencyGraph, model: string): string[] {
  const affected = new Set<string>();
  let frontier = [model];
  while (frontier.length) {
    const next: string[] = [];
    for (const [node, upstreams] of graph) {
      if (!affected.has(node) && node !== model && upstreams.some((u) => frontier.includes(u))) {
        affected.add(node);
        next.push(node);
      }
    }
    frontier = next;
  }
  // Kahn's algorithm restricted to the affected set, ties broken by name for a stable order.
  const order: string[] = [];
  const remaining = new Set(affected);
  while (remaining.size) {
    const ready = [...remaining].filter((node) => (graph.get(node) ?? []).every((u) => !remaining.has(u))).sort();
    if (!ready.length) throw new Error(`dependency cycle among ${[...remaining].join(', ')}`);
    for (const node of ready) {
      order.push(node);
      remaining.delete(node);
    }
  }
  return order;
}

/** What the cascade needs to know about a dependant. */
export interface DependantInfo {
  stage: number;
  /** Stage 4 only: its continual workflow retrains on an upstream signal (continual.triggers.upstream). */
  followsUpstream: boolean;
}

export interface CascadeStep {
  name: string;
  stage: number;
}

/**
 * The dependants a new champion of `model` acts on now, upstream first: stage 1-3 ones are retrained
 * in order, stage-4 ones are signalled (their continual workflow retrains when cooldown and budget
 * allow). A dependant downstream of a signalled stage-4 model that follows upstream champions is
 * left out: that model retrains asynchronously and its own promotion cascades to everything below
 * it, so retraining the dependant now would fit it to the stage-4 model's old champion and then
 * retrain it again. A stage-4 model with the upstream trigger off is signalled but will not
 * retrain, so it defers nothing.
 */
export function cascadePlan(graph: DependencyGraph, model: string, info: (name: string) => DependantInfo): CascadeStep[] {
  const ordered = dependantsInOrder(graph, model);
  const affected = new Set(ordered);
  // Dependants whose retrain comes from a stage-4 model's cascade (their own or an upstream's).
  const leftToCascade = new Set<string>();
  const plan: CascadeStep[] = [];
  for (const name of ordered) {
    const waits = (graph.get(name) ?? []).some((upstream) => affected.has(upstream) && (leftToCascade.has(upstream) || (info(upstream).stage === 4 && info(upstream).followsUpstream)));
    if (waits) leftToCascade.add(name);
    else plan.push({ name, stage: info(name).stage });
  }
  return plan;
}
