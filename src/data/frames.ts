/**
 * Helpers for polars frames, whose columns are native memory: a copy that owns its rows, and frames a step
 * gave up (issue 11: steps that drop their input's columns as they go, so that a notebook kernel never holds
 * the input and the output whole at once).
 */
import pl from "nodejs-polars";
import { WindflowError } from "../errors.js";

/**
 * A copy of a frame that owns its memory: `head()`, `tail()` and `slice()` are views that keep the whole frame's
 * buffers alive (and see its columns dropped); written to Arrow IPC and read back, only the rows kept remain.
 */
export function ownedCopy(frame: pl.DataFrame): pl.DataFrame {
  return pl.readIPC(frame.writeIPC());
}

/** Frames whose columns a step took, with what took them and what to do (see giveUpColumns). */
const givenUp = new WeakMap<pl.DataFrame, { to: string; hint: string }>();

/**
 * Drops `names` from `frame` in place (polars' `drop_in_place`: the frame the caller holds loses them, and their
 * memory goes once collected, util/gc.ts), for a step `to` that takes its input's columns as it goes. The frame is
 * recorded as given up from its first dropped column on, not before (a step that fails earlier leaves it whole and
 * usable): a later use of it by checkNotGivenUp is refused with `to` and `hint` (what to do to use the data
 * again), rather than with "column missing" (a notebook's cell run again).
 */
export function giveUpColumns(frame: pl.DataFrame, names: readonly string[], to: string, hint: string): void {
  if (names.length === 0) return;
  givenUp.set(frame, { to, hint });
  // nodejs-polars 0.24 has drop_in_place on its native frame only.
  const native = (frame as unknown as { inner(): { dropInPlace(name: string): unknown } }).inner();
  for (const name of names) native.dropInPlace(name);
}

/** Throws a WindflowError if `frame` (`what`: "the data", "the features") was given up to a step. */
export function checkNotGivenUp(frame: pl.DataFrame, what: string): void {
  const by = givenUp.get(frame);
  if (by)
    throw new WindflowError(`${what} was given up to ${by.to}, which took its columns`, { hint: by.hint });
}
