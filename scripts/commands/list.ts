// `sqakd list <what>`: the names a run can use, with a line each.
import { Command } from 'commander';

import { QUANTIZERS } from '../../methods/quantizers/registry.ts';
import { METHODS } from '../../methods/registry.ts';
import { ARCHITECTURES } from '../../models/registry.ts';
import { RECIPES } from '../../runs/recipes.ts';
import { choiceArgument } from '../command.ts';

const LISTS: Record<string, () => Array<[string, string]>> = {
  archs: () => Object.entries(ARCHITECTURES).map(([name, a]) => [name, a.description]),
  recipes: () => Object.entries(RECIPES).map(([name, r]) => [name, r.description]),
  quantizers: () => Object.entries(QUANTIZERS).map(([name, q]) => [name, `${q.description} (${q.reference})`]),
  methods: () => Object.entries(METHODS).map(([name, m]) => [name, m.description]),
};

function showList(what: string): void {
  const rows = LISTS[what]();
  const width = Math.max(...rows.map(([name]) => name.length));
  for (const [name, description] of rows) console.log(`${name.padEnd(width)}  ${description}`);
}

/** `sqakd list`. */
export function listCommand(): Command {
  return new Command('list')
    .description('list the architectures, recipes, quantizers or methods a run can name')
    .addArgument(choiceArgument('<what>', 'which names', Object.keys(LISTS)))
    .action(showList);
}
