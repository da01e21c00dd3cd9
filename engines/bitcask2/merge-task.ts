/**
 * What crosses the worker boundary for a bitcask2 merge: plain data that survives structured
 * cloning (STYLE.md §1). The worker gets names, not a list of records: it streams the index
 * generation `generation` itself, so the task stays small however many keys there are.
 */

export interface IndexedMergeTask {
  readonly dir: string;
  /** The index generation to stream (pinned by the engine: no flush deletes it meanwhile). */
  readonly generation: number;
  /** The data files being merged; every index entry pointing into one is copied. */
  readonly inputs: readonly number[];
  /** Output ids are `firstOutputId + i` for i < `outputsMax` (reserved by the engine). */
  readonly firstOutputId: number;
  readonly outputsMax: number;
  readonly fileBytesMax: number;
  /** The seq floor written into each output's header. */
  readonly seqFloor: number;
  /** The rate bound on bytes written by the worker; 0 for none. */
  readonly bytesPerSecondMax: number;
}

export interface IndexedMergeOutput {
  readonly id: number;
  readonly dataBytes: number;
  readonly records: number;
}

/**
 * Operating errors come back as data: an EngineError's `code` does not survive structured
 * cloning. Programmer errors (assertions) still throw.
 */
export type IndexedMergeTaskResult =
  | {
      readonly ok: true;
      readonly outputs: readonly IndexedMergeOutput[];
      readonly records: number;
    }
  | { readonly ok: false; readonly code: string; readonly message: string };
