// `sqakd methods`: the registry of training methods with what a report needs about each.
import { Command } from 'commander';

import { METHODS } from '../../methods/registry.ts';
import type { FlagValues } from '../command.ts';

function showMethods(o: FlagValues): void {
  const rows = Object.values(METHODS).map((m) => ({
    name: m.name, kind: m.kind, description: m.description, reference: m.reference, transfers: m.transfers,
    needsTeacher: m.needsTeacher, needsLabels: m.needsLabels, canRunLabelFree: m.labelFree.possible,
    labelFreeNote: m.labelFree.possible ? undefined : m.labelFree.reason, needsIndices: m.needsIndices, beta: m.beta,
    preEpochs: m.preEpochs, options: m.options,
  }));
  if (o.json) {
    console.log(JSON.stringify(rows));
    return;
  }
  for (const r of rows) {
    console.log(`${r.name.padEnd(7)} ${r.kind.padEnd(9)} ${r.description}`);
    console.log(`${' '.repeat(17)}transfers: ${r.transfers}; labels: ${r.needsLabels ? 'yes' : 'no'}` +
      `${r.kind === 'feature' ? `; label-free: ${r.canRunLabelFree ? 'possible' : `no (${r.labelFreeNote})`}; beta ${r.beta}` : ''}`);
    console.log(`${' '.repeat(17)}${r.reference}`);
  }
}

/** `sqakd methods`. */
export function methodsCommand(): Command {
  return new Command('methods')
    .description('list the training methods: objectives and feature distillation, with references and what they need')
    .option('--json', 'print one JSON array')
    .action(showMethods);
}
