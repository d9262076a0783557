// Which files of a run's output folder belong to the run about to be written there. The trainer writes
// config.json, log.jsonl, checkpoint.ckpt and result.json; a folder holding any of them for another configuration,
// or anything else the caller did not declare (a matrix cell's own files), is another run's or a user's.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { canonicalJson } from './canonicalJson.ts';
import { readCheckpointMeta } from './checkpoint.ts';
import type { EntryVerdict } from './outputFolder.ts';
import type { CheckpointMeta } from './trainedModel.ts';
import { type TrainConfig, upgradeStoredConfig } from './trainConfig.ts';

export const RUN_FILES = { config: 'config.json', log: 'log.jsonl', checkpoint: 'checkpoint.ckpt', result: 'result.json' };

/** An atomic write's temporary (`<file>.tmp-<pid>`), left by a killed process. */
const TEMPORARY = /\.tmp-\d+$/;

function storedConfig(path: string, field?: 'config'): TrainConfig | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    const raw = (field ? parsed[field] : parsed) as (TrainConfig & { environment?: unknown }) | undefined;
    if (!raw || typeof raw !== 'object' || typeof raw.method !== 'string') return undefined;
    const { environment: _environment, ...config } = raw;
    return upgradeStoredConfig(config as TrainConfig);
  } catch {
    return undefined;
  }
}

/**
 * How each entry of `out` stands to a run of `config`: the trainer's files are this run's when they record its
 * configuration (log.jsonl when config.json or the checkpoint does), `companions` are the caller's own files, and
 * anything else is foreign.
 */
export function runFolderJudge(out: string, config: TrainConfig, companions: readonly (string | RegExp)[] = []):
  (entry: string) => EntryVerdict {
  const wanted = canonicalJson(config);
  const matches = (stored: TrainConfig | undefined): EntryVerdict | undefined =>
    stored === undefined ? undefined : canonicalJson(stored) === wanted ? 'this-run' : 'other-run';
  const verdicts = new Map<string, EntryVerdict>();
  const meta = readCheckpointMeta<CheckpointMeta>(join(out, RUN_FILES.checkpoint));
  verdicts.set(RUN_FILES.checkpoint, matches(meta ? upgradeStoredConfig(meta.config) : undefined) ?? 'foreign');
  verdicts.set(RUN_FILES.config, matches(storedConfig(join(out, RUN_FILES.config))) ?? 'foreign');
  verdicts.set(RUN_FILES.result, matches(storedConfig(join(out, RUN_FILES.result), 'config')) ?? 'foreign');
  // A log says nothing of its configuration: it belongs to whichever run config.json or the checkpoint names.
  const owner = meta ? verdicts.get(RUN_FILES.checkpoint) : verdicts.get(RUN_FILES.config);
  verdicts.set(RUN_FILES.log, owner === 'this-run' ? 'this-run' : 'other-run');
  return (entry) => {
    if (TEMPORARY.test(entry) || companions.some((c) => (typeof c === 'string' ? c === entry : c.test(entry)))) return 'this-run';
    return verdicts.get(entry) ?? 'foreign';
  };
}
