// One place that turns core state into node.status, so every node shows it the same way.
import type { NodeStatus } from "node-red";
import type { CallInfo, RegistrationState } from "../../src";

export function registrationStatus(state: RegistrationState, reason?: string): NodeStatus {
  switch (state) {
    case "REGISTERED":
      return { fill: "green", shape: "dot", text: "REGISTERED" };
    case "REGISTERING":
      return { fill: "yellow", shape: "ring", text: "REGISTERING" };
    case "DEREGISTERING":
      return { fill: "yellow", shape: "ring", text: "DEREGISTERING" };
    case "FAILED":
      return { fill: "red", shape: "ring", text: truncate(`FAILED: ${reason ?? "unknown"}`) };
    default:
      return { fill: "grey", shape: "ring", text: "INACTIVE" };
  }
}

export function truncate(text: string, max = 40): string {
  return text.length <= max ? text : text.slice(0, max - 1) + "…";
}

/**
 * sip-call's status while it has calls: the newest call's state and party, marked "hold", "early media"
 * (RINGING with 183 audio) or "rec" (being recorded), and how many more calls there are.
 */
export function callStatus(active: readonly CallInfo[], isRecording: (callId: string) => boolean): NodeStatus {
  const c = active[active.length - 1];
  const who = c.direction === "inbound" ? c.from.name || c.from.number : c.to.number;
  const marks = [c.hold ? "hold" : "", c.state === "RINGING" && c.earlyMedia ? "early media" : "", isRecording(c.id) ? "rec" : ""].filter(Boolean);
  const more = active.length > 1 ? ` (+${active.length - 1})` : "";
  const text = `${c.state}${marks.length ? ` (${marks.join(", ")})` : ""} ${who}${more}`;
  return { fill: c.state === "ANSWERED" ? "green" : "yellow", shape: "dot", text: truncate(text) };
}
