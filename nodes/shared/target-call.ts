// Which call a command is for: msg.call.id, or the only active one.
import type { Call } from "../../src/call/call";
import type { CallManager } from "../../src/call/call-manager";

export function targetCall(calls: CallManager, msg: { call?: { id?: unknown }; callId?: unknown }): Call {
  const id = msg.call?.id ?? msg.callId;
  if (id !== undefined && id !== null && id !== "") {
    const call = calls.get(String(id));
    if (!call || !call.active) throw new Error(`no active call with id ${String(id)}`);
    return call;
  }
  const active = calls.list();
  if (active.length === 0) throw new Error("no active call");
  if (active.length > 1) throw new Error(`${active.length} calls are active: set msg.call.id to choose one`);
  return active[0];
}
