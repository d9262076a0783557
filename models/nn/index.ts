// torch.nn-style building blocks written in tfjs ops (NHWC).
export { BatchNorm, BatchNorm1d, BatchNorm2d } from './batchNorm.ts';
export { Conv2d, type Conv2dOptions } from './conv2d.ts';
export { deriveSeed, type InitScheme, initializeParameters } from './init.ts';
export { Dropout, GlobalAvgPool, Identity, MaxPool2d, ReLU, ReLU6, Sequential, setDropoutSeed } from './layers.ts';
export { Linear } from './linear.ts';
export { Module, type NamedParameter, type ParamGroup } from './module.ts';
