// `sqakd schema matrix|cell`: the JSON Schema of a matrix spec or a cell's configuration, for editors
// (yaml-language-server, VS Code) to complete and check spec files as they are written.
import { Command } from 'commander';

import { matrixSpecJsonSchema } from '../../runs/matrix/matrixSpecSchema.ts';
import { cellConfigJsonSchema } from '../../runs/trainConfigSchema.ts';
import { choiceArgument } from '../command.ts';

const SCHEMAS: Record<string, () => Record<string, unknown>> = { matrix: matrixSpecJsonSchema, cell: cellConfigJsonSchema };

/** `sqakd schema`. */
export function schemaCommand(): Command {
  return new Command('schema')
    .description('print the JSON Schema of a matrix spec or of a cell configuration (for editors: sqakd schema matrix > matrix.schema.json)')
    .addArgument(choiceArgument('<what>', 'matrix: a --spec file; cell: a resolved training configuration', Object.keys(SCHEMAS)))
    .action((what: string) => {
      console.log(JSON.stringify(SCHEMAS[what](), null, 2));
    });
}
