// One place that turns core state into node.status, so every node shows it the same way.
import type { NodeStatus } from "node-red";
import type { RegistrationState } from "../../src";

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
