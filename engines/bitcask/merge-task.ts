/**
 * What crosses the worker boundary for a merge: plain data that survives structured cloning
 * (STYLE.md §1), typed arrays for the per-record columns so a large merge clones cheaply.
 */
import type { MergeOutputPlan } from './merge-plan';

export interface MergeTask {
  readonly dir: string;
  /** Per record, in (file id, offset) order: where it is now, and its key (checked on copy). */
  readonly keys: readonly string[];
  readonly fileIds: Uint32Array;
  readonly offsets: Float64Array;
  readonly sizes: Uint32Array;
  readonly outputs: readonly MergeOutputPlan[];
  /**
   * Per output: write its hint file. False where the hint would make the merge write more
   * than it removes (`merge.ts`, "a merge never grows the data"); open scans such a file.
   */
  readonly hints: readonly boolean[];
  /** The seq floor written into each output's header. */
  readonly seqFloor: number;
}

export interface MergeOutputResult {
  readonly id: number;
  readonly dataBytes: number;
  /** 0 when the plan gave this output no hint. */
  readonly hintBytes: number;
}

/**
 * Operating errors come back as data: a EngineError's `code` does not survive the trip
 * through structured cloning. Programmer errors (assertions) still throw.
 */
export type MergeTaskResult =
  | { readonly ok: true; readonly outputs: readonly MergeOutputResult[] }
  | { readonly ok: false; readonly code: string; readonly message: string };
