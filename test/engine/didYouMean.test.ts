// The suggestion of unknown-name errors: a near name is suggested, a far one is not, and nothing random is offered
// among short names.
import { describe, expect, it } from 'vitest';

import { closestName, didYouMean } from '../../engine/didYouMean.ts';

const METHODS = ['ce', 'kd', 'sqakd', 'at', 'nst', 'sp', 'rkd', 'crd', 'fitnet', 'cc', 'vid', 'fsp', 'ft', 'cktf'];

describe('didYouMean', () => {
  it('suggests the nearest valid name for a misspelling, a transposition or a different case', () => {
    expect(didYouMean('sqkad', METHODS)).toBe(" (did you mean 'sqakd'?)");
    expect(didYouMean('fitnets', METHODS)).toBe(" (did you mean 'fitnet'?)");
    expect(closestName('pcat', ['ewgs', 'pact', 'lsq', 'dorefa'])).toBe('pact');
    expect(closestName('SQAKD', METHODS)).toBe('sqakd');
    expect(closestName('archs', ['dataset', 'arch', 'quantizer', 'bits', 'method', 'seed'])).toBe('arch');
  });

  it('suggests a valid name that the given one begins', () => {
    expect(closestName('tiny', ['cifar10', 'tiny-imagenet', 'tiny-imagenet-224'])).toBe('tiny-imagenet');
  });

  it('suggests nothing for a far name, a two-letter name nothing like the valid ones, or a valid name', () => {
    expect(didYouMean('distill', METHODS)).toBe('');
    expect(didYouMean('zz', METHODS)).toBe('');
    expect(didYouMean('flavour', ['name', 'grid', 'grids', 'exclude', 'recipe', 'epochs'])).toBe('');
    expect(didYouMean('kd', METHODS)).toBe('');
    expect(didYouMean('anything', [])).toBe('');
  });
});
