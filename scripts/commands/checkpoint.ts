// `sqakd checkpoint export|import`: a trained model as a safetensors file that any framework reads (tensors named
// as the model's parameters, the run's configuration in its metadata), and back into a checkpoint the suite
// evaluates or distils from (it carries no optimizer state, so training does not resume from it).
import { Command } from 'commander';

import { initBackend } from '../../engine/index.ts';
import { type ConversionSummary, exportSafetensors, importSafetensors, TENSOR_LAYOUTS } from '../../runs/checkpointExport.ts';
import { refusedOnError } from '../../runs/runRefused.ts';
import { backendOption, choiceOption, type FlagValues, stringFlag, UsageError } from '../command.ts';

function report(summary: ConversionSummary): void {
  console.log(`${summary.model}: ${summary.tensors} tensors, ${(summary.bytes / 2 ** 20).toFixed(2)} MiB, ` +
    `${summary.layout} layout -> ${summary.path}`);
}

/** The required --out, or a UsageError naming what it is for. */
function outFlag(o: FlagValues, what: string): string {
  const out = stringFlag(o.out);
  if (!out) throw new UsageError(`--out <file> is required (the ${what} to write)`);
  return out;
}

/** `sqakd checkpoint`. */
export function checkpointCommand(): Command {
  const exporter = new Command('export')
    .description("write a checkpoint's model (parameters, batch-norm statistics, quantizer parameters) as safetensors")
    .argument('<checkpoint>', 'a checkpoint written by sqakd train or a matrix cell')
    .option('--out <file>', 'required: the .safetensors file to write')
    .addOption(choiceOption('--format <format>', 'file format', ['safetensors']).default('safetensors'))
    .addOption(choiceOption('--layout <layout>', 'weight layout: tfjs (HWIO kernels, [in, out] dense, as trained) or ' +
      'pytorch (OIHW kernels, [out, in] dense)', TENSOR_LAYOUTS).default('tfjs'))
    .option('--force', 'replace an existing output file')
    .addOption(backendOption())
    .action(async (checkpoint: string, o: FlagValues) => {
      const out = outFlag(o, 'safetensors file');
      await initBackend(stringFlag(o.backend));
      report(refusedOnError(() => exportSafetensors(checkpoint, out,
        { layout: stringFlag(o.layout) as (typeof TENSOR_LAYOUTS)[number], force: o.force === true })));
    });
  const importer = new Command('import')
    .description('turn a safetensors file written by checkpoint export back into a checkpoint (sqakd eval, --teacher)')
    .argument('<file>', 'a .safetensors file written by sqakd checkpoint export')
    .option('--out <file>', 'required: the checkpoint to write')
    .option('--force', 'replace an existing output file')
    .addOption(backendOption())
    .action(async (file: string, o: FlagValues) => {
      const out = outFlag(o, 'checkpoint');
      await initBackend(stringFlag(o.backend));
      report(refusedOnError(() => importSafetensors(file, out, { force: o.force === true })));
    });
  return new Command('checkpoint')
    .description('checkpoints readable outside the suite: export to safetensors, import back')
    .addCommand(exporter)
    .addCommand(importer);
}
