// The suggestion an unknown-name error ends with ("did you mean 'sqakd'?"). It lives in engine/, the lowest layer,
// only because every registry above it (datasets, models, methods, recipes, the matrix spec and the CLI) needs it
// and imports may only point down; it knows nothing of the engine.
import { distance } from 'fastest-levenshtein';

/**
 * The valid name `name` was most likely meant to be, or undefined. Compared case-insensitively; a name counts as
 * near when at most a third of its letters (at least 2) differ, but never when all of them would have to (so `zz`
 * suggests nothing among two-letter names). A name the start of a valid one (`tiny` for `tiny-imagenet`) is near too.
 */
export function closestName(name: string, valid: readonly string[]): string | undefined {
  const wanted = name.toLowerCase();
  if (!wanted || valid.includes(name)) return undefined;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of valid) {
    const d = distance(wanted, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  if (best !== undefined && bestDistance <= Math.max(2, wanted.length / 3) && bestDistance < wanted.length) return best;
  // A short start matches too much to mean anything.
  if (wanted.length < 3) return undefined;
  return valid.find((candidate) => candidate.toLowerCase().startsWith(wanted));
}

/** ` (did you mean 'x'?)` for the valid name nearest `name`, or '' when none is near. */
export function didYouMean(name: string, valid: readonly string[]): string {
  const near = closestName(name, valid);
  return near === undefined ? '' : ` (did you mean '${near}'?)`;
}
