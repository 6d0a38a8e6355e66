import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Layers point one way (CONVENTIONS): the folders of src/ (and projections/, migrations/) form an acyclic graph of
 * imports, the domain imports nothing of the product but itself, and nothing imports the composition roots.
 */
const root = path.resolve(import.meta.dirname, '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(root, dir)).flatMap((name) => {
    const relative = path.join(dir, name);
    if (statSync(path.join(root, relative)).isDirectory()) return sourceFiles(relative);
    return name.endsWith('.ts') ? [relative] : [];
  });
}

/** `src/channels/sandbox/rest.ts` → `channels`; `src/config.ts` → `config`; `projections/x.ts` → `read-models`. */
function layerOf(file: string): string {
  const parts = file.split(path.sep);
  if (parts[0] === 'projections') return 'read-models';
  if (parts[0] !== 'src') return parts[0]!;
  return parts.length === 2 ? parts[1]!.replace(/\.ts$/, '') : parts[1]!;
}

const files = ['src', 'projections', 'migrations'].flatMap(sourceFiles);
const imports = files.flatMap((file) =>
  [...readFileSync(path.join(root, file), 'utf8').matchAll(/(?:from|import)\s+'(\.{1,2}\/[^']+)'/g)].map((match) => ({
    file,
    target: path.normalize(path.join(path.dirname(file), match[1]!)),
  })),
);
const edges = new Map<string, Map<string, string>>();
for (const { file, target } of imports) {
  const [from, to] = [layerOf(file), layerOf(target)];
  if (from === to) continue;
  if (!edges.has(from)) edges.set(from, new Map());
  edges.get(from)!.set(to, file);
}

/** A cycle of layers, as `a → b → a` with the file behind each step, or null. */
function findCycle(): string | null {
  const state = new Map<string, 'open' | 'done'>();
  const trail: string[] = [];
  const visit = (layer: string): string | null => {
    if (state.get(layer) === 'done') return null;
    if (state.get(layer) === 'open') {
      const loop = [...trail.slice(trail.indexOf(layer)), layer];
      return loop
        .slice(1)
        .map((to, index) => `${loop[index]} → ${to} (${edges.get(loop[index]!)!.get(to)})`)
        .join(', ');
    }
    state.set(layer, 'open');
    trail.push(layer);
    for (const next of edges.get(layer)?.keys() ?? []) {
      const found = visit(next);
      if (found) return found;
    }
    trail.pop();
    state.set(layer, 'done');
    return null;
  };
  for (const layer of edges.keys()) {
    const found = visit(layer);
    if (found) return found;
  }
  return null;
}

describe('layers', () => {
  it('reads the imports it judges', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(edges.get('http')?.has('app')).toBe(true);
  });

  it('import one another without a cycle', () => {
    expect(findCycle()).toBeNull();
  });

  it('the domain imports nothing of the product but itself', () => {
    expect([...(edges.get('domain')?.entries() ?? [])]).toEqual([]);
  });

  it('the composition roots (main, wiring, cli) are imported by nothing in src', () => {
    const offenders = imports.filter(
      ({ file, target }) =>
        ['main', 'wiring', 'cli'].includes(layerOf(target)) && !['main', 'wiring', 'cli'].includes(layerOf(file)),
    );
    expect(offenders).toEqual([]);
  });

  it('app and the channels never reach into HTTP or the dispatcher', () => {
    for (const layer of ['app', 'channels', 'auth', 'eventstore', 'infra', 'read-models', 'projections']) {
      const reached = [...(edges.get(layer)?.keys() ?? [])].filter((to) => ['http', 'dispatch'].includes(to));
      expect(reached, layer).toEqual([]);
    }
  });
});
