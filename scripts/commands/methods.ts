// `sqakd methods`: the registry of training methods with what a report needs about each.
import { METHODS } from '../../methods/registry.ts';
import type { Command } from '../command.ts';

export const methodsCommand: Command = {
  summary: 'list the training methods: objectives and feature distillation, with references and what they need',
  usage: 'sqakd methods [--json]',
  options: { json: { type: 'boolean' } },
  async run(values) {
    const rows = Object.values(METHODS).map((m) => ({
      name: m.name,
      kind: m.kind,
      description: m.description,
      reference: m.reference,
      transfers: m.transfers,
      needsTeacher: m.needsTeacher,
      needsLabels: m.needsLabels,
      canRunLabelFree: m.labelFree.possible,
      labelFreeNote: m.labelFree.possible ? undefined : m.labelFree.reason,
      needsIndices: m.needsIndices,
      beta: m.beta,
      preEpochs: m.preEpochs,
      options: m.options,
    }));
    if (values.json) {
      console.log(JSON.stringify(rows));
      return;
    }
    for (const r of rows) {
      console.log(`${r.name.padEnd(7)} ${r.kind.padEnd(9)} ${r.description}`);
      console.log(`${' '.repeat(17)}transfers: ${r.transfers}; labels: ${r.needsLabels ? 'yes' : 'no'}` +
        `${r.kind === 'feature' ? `; label-free: ${r.canRunLabelFree ? 'possible' : `no (${r.labelFreeNote})`}; beta ${r.beta}` : ''}`);
      console.log(`${' '.repeat(17)}${r.reference}`);
    }
  },
};
