// The trainer's progress sinks: the run's ETA from the measured step time and evaluation time, the terminal's
// cli-progress bar (redrawn in place, with elapsed time and the epoch's and run's ETAs), the plain lines written
// off a terminal, and how RunPlace.progress picks a sink.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { allSinks, type EpochInfo, progressSinkFor } from '../../runs/progress.ts';
import { RunEta } from '../../runs/runEta.ts';
import { TerminalProgress } from '../../runs/terminalProgress.ts';

const epoch = (index: number, over: Partial<EpochInfo> = {}): EpochInfo => ({
  label: `epoch ${index + 1}/3`, stage: 'main', epoch: index, epochs: 3, steps: 10, laterEpochs: 0, ...over,
});

/** A stand-in for a process stream that keeps what is written. */
function fakeStream(tty: boolean) {
  const written: string[] = [];
  const stream = { isTTY: tty, columns: 200, write: (chunk: string) => (written.push(chunk), true) };
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => written.join('') };
}

describe('run ETA', () => {
  it('counts the steps left at the measured speed and each epoch\'s evaluation, later stages included', () => {
    let now = 0;
    const eta = new RunEta(() => now);
    eta.startEpoch(epoch(0));
    expect(eta.runLeft()).toBeUndefined();
    now = 5000;
    eta.stepDone(5);
    // 1 s a step: 5 steps of this epoch and 2 epochs of 10; no evaluation timed yet.
    expect(eta.epochLeft()).toBe(5);
    expect(eta.runLeft()).toBe(25);
    now = 10_000;
    eta.stepDone(10);
    now = 12_000;
    eta.finishEpoch();
    expect(eta.epochLeft()).toBe(0);
    eta.startEpoch(epoch(1));
    // Before its first step the previous epoch's speed holds; each epoch left adds its 2 s evaluation.
    expect(eta.epochLeft()).toBe(12);
    expect(eta.runLeft()).toBe(24);

    // A pre-stage epoch counts the main stage's epochs after it.
    eta.startEpoch({ ...epoch(0), stage: 'pre', epochs: 1, laterEpochs: 3 });
    expect(eta.runLeft()).toBe(12 + 3 * 12);
  });
});

describe('terminal progress', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('draws a cli-progress bar in place on a terminal, with elapsed time and the epoch\'s and run\'s ETAs', () => {
    const { stream, text } = fakeStream(true);
    const sink = new TerminalProgress(stream, () => Date.now());
    const progress = sink.epoch(epoch(0));
    vi.advanceTimersByTime(5000);
    progress.update(5, { loss: 0.41234, imagesPerSecond: 812.4 });
    const frame = text();
    expect(frame).toContain('epoch 1/3 [============------------] 5/10 loss 0.4123 812 img/s | elapsed 5s | ETA epoch 5s, run 25s');
    // Redrawn in place: back to the line's start and erased to its end, never a newline.
    expect(frame).toContain('\x1b[1G');
    expect(frame).toContain('\x1b[0K');
    expect(frame).not.toContain('\n');
    vi.advanceTimersByTime(5000);
    progress.update(10, { loss: 0.4, imagesPerSecond: 800 });
    vi.advanceTimersByTime(2000);
    progress.finish('loss 0.4000, top-1 50.00%, 800 img/s, 12.0 s');
    expect(text()).toContain('ETA epoch 0s, run 20s');
    // The bar gives way to the epoch's summary, with what is left of the run.
    expect(text().endsWith('epoch 1/3 loss 0.4000, top-1 50.00%, 800 img/s, 12.0 s, run ETA 24s\n')).toBe(true);
  });

  it('writes a plain line at each quarter of an epoch off a terminal', () => {
    const { stream, text } = fakeStream(false);
    const sink = new TerminalProgress(stream, () => Date.now());
    const progress = sink.epoch(epoch(2));
    for (let step = 1; step <= 10; step++) {
      vi.advanceTimersByTime(1000);
      progress.update(step, { loss: 0.5, imagesPerSecond: 64 });
    }
    progress.finish('loss 0.5000, top-1 40.00%, 64 img/s, 10.0 s');
    expect(text().split('\n').filter(Boolean)).toEqual([
      'epoch 3/3 3/10 loss 0.5000 64 img/s, elapsed 3s, ETA epoch 7s, run 7s',
      'epoch 3/3 5/10 loss 0.5000 64 img/s, elapsed 5s, ETA epoch 5s, run 5s',
      'epoch 3/3 8/10 loss 0.5000 64 img/s, elapsed 8s, ETA epoch 2s, run 2s',
      'epoch 3/3 10/10 loss 0.5000 64 img/s, elapsed 10s, ETA epoch 0s, run 0s',
      // The run's last epoch: no ETA after it.
      'epoch 3/3 loss 0.5000, top-1 40.00%, 64 img/s, 10.0 s',
    ]);
  });
});

describe('progress sinks', () => {
  it('takes a stream as the terminal bar, null as silence, and a sink as itself; reports to several at once', () => {
    const { stream } = fakeStream(false);
    expect(progressSinkFor(null)).toBeNull();
    expect(progressSinkFor(stream)).toBeInstanceOf(TerminalProgress);
    expect(progressSinkFor(undefined)).toBeInstanceOf(TerminalProgress);
    const calls: string[] = [];
    const recorder = (name: string) => ({
      epoch: () => ({ update: (step: number) => calls.push(`${name} ${step}`), finish: () => calls.push(`${name} end`) }),
    });
    const a = recorder('a');
    expect(progressSinkFor(a)).toBe(a);
    const both = allSinks(a, recorder('b')).epoch(epoch(0));
    both.update(1, { loss: 1, imagesPerSecond: 1 });
    both.finish('');
    expect(calls).toEqual(['a 1', 'b 1', 'a end', 'b end']);
  });
});
