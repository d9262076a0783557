// The pre-stages of FSP and FT end to end through the CLI and the trainer (test/support/preStageResume.ts: a run
// killed after its first pre-stage epoch resumes and ends bit-identical to one run straight through), and what
// each pre-stage may and may not train.
import type * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import { ft } from '../../methods/ft.ts';
import { DEFAULT_METHOD_SETTINGS } from '../../methods/method.ts';
import { deriveSeed } from '../../models/nn/index.ts';
import { createModel } from '../../models/registry.ts';
import { createDistiller } from '../../runs/distillation.ts';
import { checkPreStageResume, PRE_STAGE_TRAIN_IMAGES } from '../support/preStageResume.ts';

const values = (m: Map<string, tf.Tensor>, name: string) => Array.from(m.get(name)!.dataSync());

describe('pre-stage through the trainer: 2 pre-stage epochs then 1 main epoch, resumable bit for bit', () => {
  it('FSP: trains the feature layers, not the classifier head', async () => {
    const runs = await checkPreStageResume('fsp');
    // The student starts from the teacher: its head is the teacher's until the main stage.
    for (const name of ['model/fc.weight', 'model/fc.bias']) {
      expect(values(runs.afterPreStage, name), name).toEqual(values(runs.teacher, name));
      expect(values(runs.final, name), name).not.toEqual(values(runs.teacher, name));
    }
    for (const name of ['model/stage1.0.weight', 'model/stage2.3.weight', 'model/stem.0.weight']) {
      expect(values(runs.afterFirstPreEpoch, name), name).not.toEqual(values(runs.teacher, name));
    }
  });

  it('FT: trains the paraphraser only, which stays frozen in the main stage', async () => {
    const runs = await checkPreStageResume('ft');
    // The pre-stage trains the paraphraser only: the student keeps the teacher's weights...
    const studentParams = [...runs.teacher.keys()].filter((k) => k.startsWith('model/') && !/running(Mean|Var)$/.test(k));
    expect(studentParams.length).toBe(14);
    for (const name of studentParams) expect(values(runs.afterPreStage, name), name).toEqual(values(runs.teacher, name));
    // ... and the translator its initial ones (rebuilt here as the trainer builds them, seed 1).
    const model = () => createModel('cnn-small', { classes: 10, inChannels: 3, seed: 1 });
    const [student, teacher] = [model(), model()];
    const initial = createDistiller(ft, { ...DEFAULT_METHOD_SETTINGS, options: { ...ft.options } }, student, teacher,
      [32, 32, 3], PRE_STAGE_TRAIN_IMAGES, deriveSeed(1, 'distiller'))!;
    const distillerKeys = [...runs.final.keys()].filter((k) => k.startsWith('distiller/'));
    // 9 convs (weight, bias) and a batch norm after each (weight, bias, running mean and variance).
    expect(distillerKeys.length).toBe(9 * 2 + 9 * 4);
    // The frozen paraphraser runs in evaluation mode in the main stage: its running statistics do not move either.
    const paraphraserStatistics = distillerKeys.filter((k) => k.startsWith('distiller/paraphraser.') && /running(Mean|Var)$/.test(k));
    expect(paraphraserStatistics.length).toBe(12);
    for (const key of paraphraserStatistics) {
      // They move in the pre-stage (its second epoch changes them again), then not in the main stage.
      expect(values(runs.afterPreStage, key), key).not.toEqual(values(runs.afterFirstPreEpoch, key));
      expect(values(runs.final, key), key).toEqual(values(runs.afterPreStage, key));
    }
    for (const p of initial.namedParameters()) {
      const key = `distiller/${p.name}`;
      const init = Array.from(p.variable.dataSync());
      if (p.name.startsWith('translator.')) {
        expect(values(runs.afterPreStage, key), key).toEqual(init);
        expect(values(runs.final, key), key).not.toEqual(init);
      } else {
        expect(values(runs.afterFirstPreEpoch, key), key).not.toEqual(init);
        // Frozen in the main stage, though the main optimizer (Adam, coupled weight decay) holds it.
        expect(values(runs.final, key), key).toEqual(values(runs.afterPreStage, key));
      }
    }
    [student, teacher, initial].forEach((m) => m.dispose());
  });
});
