// The training methods by name: the three objectives and the feature-distillation methods of SPEC section 3.
// Adding one means a file in methods/ and a line here.
import { didYouMean } from '../engine/didYouMean.ts';
import { at } from './at.ts';
import { cc } from './cc.ts';
import { ce } from './ce.ts';
import { cktf } from './cktf.ts';
import { crd } from './crd.ts';
import { fitnet } from './fitnet.ts';
import { fsp } from './fsp.ts';
import { ft } from './ft.ts';
import { kd } from './kd.ts';
import type { TrainingMethod } from './method.ts';
import { nst } from './nst.ts';
import { rkd } from './rkd.ts';
import { sp } from './sp.ts';
import { sqakd } from './sqakd.ts';
import { vid } from './vid.ts';

export const METHODS: Record<string, TrainingMethod> = {
  ce, kd, sqakd, at, nst, sp, rkd, crd, fitnet, cc, vid, fsp, ft, cktf,
};

/** A method by name; an unknown name is an error listing the valid ones. */
export function trainingMethod(name: string): TrainingMethod {
  const method = Object.hasOwn(METHODS, name) ? METHODS[name] : undefined;
  const valid = Object.keys(METHODS);
  if (!method) throw new Error(`unknown method '${name}'${didYouMean(name, valid)} (valid: ${valid.join(', ')})`);
  return method;
}

/** A method's display name: feature methods run without labels get "(label-free)" (SQAKD never uses labels). */
export function methodLabel(name: string, labelFree: boolean): string {
  return labelFree && trainingMethod(name).kind === 'feature' ? `${name} (label-free)` : name;
}
