// Which call a command is for: msg.call.id, or the only active one. Works on ids and
// snapshots through the Softphone facade.
import type { CallInfo } from "../../src";

/** The part of the Softphone that answers "which calls are there". */
export interface CallDirectory {
  call(id: string): CallInfo | undefined;
  activeCalls(): CallInfo[];
}

/** The id of the call a command is for; throws a message for the user when there is none or several. */
export function targetCallId(calls: CallDirectory, id: string | undefined): string {
  if (id !== undefined) {
    if (!calls.call(id)) throw new Error(`no active call with id ${id}`);
    return id;
  }
  const active = calls.activeCalls();
  if (active.length === 0) throw new Error("no active call");
  if (active.length > 1) throw new Error(`${active.length} calls are active: set msg.call.id to choose one`);
  return active[0].id;
}
