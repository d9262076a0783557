// tf.customGrad with honest types: tfjs types its function as taking (Tensor | GradSaveFunc)[], which no real
// function satisfies without casts; this wrapper states the shape once.
import { customGrad, type GradSaveFunc, type Tensor } from '@tensorflow/tfjs-core';

type Gradients<Args extends Tensor[]> = Args extends [Tensor] ? Tensor | [Tensor] : { [K in keyof Args]: Tensor };

export type CustomGradientBody<Args extends Tensor[]> = (...args: [...Args, GradSaveFunc]) => {
  value: Tensor;
  gradFunc: (dy: Tensor, saved: Tensor[]) => Gradients<Args>;
};

/** An op with a hand-written gradient: `body` computes the value, saves what the backward needs, and returns it. */
export function customGradient<Args extends Tensor[]>(body: CustomGradientBody<Args>): (...args: Args) => Tensor {
  return customGrad(body as unknown as Parameters<typeof customGrad>[0]) as unknown as (...args: Args) => Tensor;
}
