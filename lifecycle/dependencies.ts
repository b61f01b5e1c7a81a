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
