// `sqakd list <what>`: the names a run can use, with a line each.
import { QUANTIZERS } from '../../methods/quantizers/registry.ts';
import { METHODS } from '../../methods/registry.ts';
import { ARCHITECTURES } from '../../models/registry.ts';
import { RECIPES } from '../../runs/recipes.ts';
import { type Command, UsageError } from '../command.ts';

const LISTS: Record<string, () => Array<[string, string]>> = {
  archs: () => Object.entries(ARCHITECTURES).map(([name, a]) => [name, a.description]),
  recipes: () => Object.entries(RECIPES).map(([name, r]) => [name, r.description]),
  quantizers: () => Object.entries(QUANTIZERS).map(([name, q]) => [name, `${q.description} (${q.reference})`]),
  methods: () => Object.entries(METHODS).map(([name, m]) => [name, m.description]),
};

export const listCommand: Command = {
  summary: 'list the architectures, recipes, quantizers or methods a run can name',
  usage: `sqakd list ${Object.keys(LISTS).join('|')}`,
  options: {},
  async run(_values, positionals) {
    const what = positionals[0];
    const list = LISTS[what];
    if (!list) throw new UsageError(`sqakd list: unknown list '${what ?? ''}' (valid: ${Object.keys(LISTS).join(', ')})`);
    const rows = list();
    const width = Math.max(...rows.map(([name]) => name.length));
    for (const [name, description] of rows) console.log(`${name.padEnd(width)}  ${description}`);
  },
};
