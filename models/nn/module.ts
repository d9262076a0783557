// The base of every layer and model, in the manner of torch.nn.Module: named parameters (trainable tf.Variables),
// buffers (non-trainable state such as batch-norm running statistics) and child modules, with dotted paths
// ("layer1.0.conv1.weight") that checkpoints and optimizers use.
import type * as tf from '@tensorflow/tfjs-core';
import { variable } from '@tensorflow/tfjs-core';

/** Which optimizer a parameter belongs to: the model's, or the quantizers' (SPEC section 2: two optimizers). */
export type ParamGroup = 'model' | 'quantizer';

export interface NamedParameter {
  name: string;
  variable: tf.Variable;
  group: ParamGroup;
}

export abstract class Module {
  training = true;
  private readonly params = new Map<string, { variable: tf.Variable; group: ParamGroup }>();
  private readonly buffers = new Map<string, tf.Variable>();
  private readonly modules = new Map<string, Module>();

  /** Computes the module's output. Inputs and outputs are NHWC for images, [batch, features] otherwise. */
  abstract forward(x: tf.Tensor): tf.Tensor;

  /** Registers a trainable parameter (the module keeps the tensor; do not dispose it). */
  protected registerParameter(name: string, value: tf.Tensor, group: ParamGroup = 'model'): tf.Variable {
    const v = variable(value, true);
    value.dispose();
    this.params.set(name, { variable: v, group });
    return v;
  }

  /** Registers non-trainable state that is saved with the model. */
  protected registerBuffer(name: string, value: tf.Tensor): tf.Variable {
    const v = variable(value, false);
    value.dispose();
    this.buffers.set(name, v);
    return v;
  }

  protected registerModule<M extends Module>(name: string, module: M): M {
    this.modules.set(name, module);
    return module;
  }

  /**
   * A registered child, looked up at call time: layers may be swapped (quantized) after construction, so models
   * reach their children through this rather than keeping references.
   */
  protected child<M extends Module = Module>(name: string): M {
    const m = this.modules.get(name);
    if (!m) throw new Error(`module has no child '${name}'`);
    return m as M;
  }

  /** Replaces a registered child (used to swap layers for their quantized form); returns the old one. */
  replaceModule(name: string, module: Module): Module {
    const old = this.modules.get(name);
    if (!old) throw new Error(`module has no child '${name}'`);
    this.modules.set(name, module);
    return old;
  }

  children(): Array<[string, Module]> {
    return [...this.modules.entries()];
  }

  /** This module and every descendant, with dotted paths ('' for this one). */
  namedModules(prefix = ''): Array<[string, Module]> {
    const out: Array<[string, Module]> = [[prefix, this]];
    for (const [name, child] of this.modules) out.push(...child.namedModules(join(prefix, name)));
    return out;
  }

  namedParameters(prefix = ''): NamedParameter[] {
    const out: NamedParameter[] = [];
    for (const [name, p] of this.params) out.push({ name: join(prefix, name), variable: p.variable, group: p.group });
    for (const [name, child] of this.modules) out.push(...child.namedParameters(join(prefix, name)));
    return out;
  }

  namedBuffers(prefix = ''): Array<[string, tf.Variable]> {
    const out: Array<[string, tf.Variable]> = [...this.buffers].map(([name, v]) => [join(prefix, name), v]);
    for (const [name, child] of this.modules) out.push(...child.namedBuffers(join(prefix, name)));
    return out;
  }

  /** Trainable parameters, optionally of one group only. */
  parameters(group?: ParamGroup): tf.Variable[] {
    return this.namedParameters().filter((p) => group === undefined || p.group === group).map((p) => p.variable);
  }

  /** Parameters and buffers by path: everything a checkpoint holds for the model. */
  stateDict(): Map<string, tf.Variable> {
    return new Map([...this.namedParameters().map((p) => [p.name, p.variable] as const), ...this.namedBuffers()]);
  }

  /** Number of trainable values (as PyTorch counts parameters; buffers excluded). */
  parameterCount(group?: ParamGroup): number {
    return this.parameters(group).reduce((sum, v) => sum + v.size, 0);
  }

  /** Sets training mode here and below (batch norm statistics, dropout). */
  train(mode = true): this {
    this.training = mode;
    for (const child of this.modules.values()) child.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Frees every parameter and buffer of this module and its descendants. */
  dispose(): void {
    for (const p of this.params.values()) p.variable.dispose();
    for (const b of this.buffers.values()) b.dispose();
    for (const child of this.modules.values()) child.dispose();
  }
}

function join(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}.${name}`;
}
