// Shape checks a feature method makes when it builds its distiller: every tap it reads must exist in both models
// with a usable shape, and a wrong one is a one-line error naming the method and the tap.
import type { DistillerSetup } from '../distiller.ts';

export interface TapShapes {
  /** The tap's name, for messages. */
  tap: string;
  /** Shapes without the batch dimension: [H, W, C] for stage maps, [C] for the pooled vector. */
  student: number[];
  teacher: number[];
}

/** The student's and teacher's shapes of tap `index`, checked to be present and to have no empty dimension. */
export function tapShapes(method: string, setup: DistillerSetup, index: number): TapShapes {
  const tap = setup.tapNames[index] ?? `#${index}`;
  const student = setup.studentShapes[index];
  const teacher = setup.teacherShapes[index];
  if (!student || !teacher) {
    throw new Error(`method ${method} reads tap ${tap}, but the setup gives ${setup.studentShapes.length} student and ` +
      `${setup.teacherShapes.length} teacher tap shapes for ${setup.tapNames.length} taps`);
  }
  const bad = (shape: number[]) => shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d < 1);
  if (bad(student) || bad(teacher)) {
    throw new Error(`method ${method} needs non-empty features at tap ${tap}, got [${student}] (student) / ` +
      `[${teacher}] (teacher)`);
  }
  return { tap, student, teacher };
}

/** Checks a tap is a spatial map [H, W, C] in both models (a one-line error naming the tap otherwise). */
export function requireMaps(method: string, { tap, student, teacher }: TapShapes): void {
  if (student.length !== 3 || teacher.length !== 3) {
    throw new Error(`method ${method} reads spatial maps [H, W, C], but tap ${tap} is [${student}] (student) / ` +
      `[${teacher}] (teacher)`);
  }
}
