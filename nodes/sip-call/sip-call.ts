// sip-call: registration and call events out; dial/say/play/hangup/answer/reject/dtmf in.
import type { NodeAPI, NodeDef, Node } from "node-red";
import type { SipClientNode, ClientUser } from "../shared/client-api";
import { registrationStatus } from "../shared/status";

interface SipCallConfig extends NodeDef {
  client: string;
}

export = function (RED: NodeAPI): void {
  function SipCall(this: Node, config: SipCallConfig) {
    RED.nodes.createNode(this, config);
    const node = this;
    const client = RED.nodes.getNode(config.client) as SipClientNode | null;
    if (!client) {
      node.status({ fill: "red", shape: "ring", text: "no SIP account" });
      node.on("input", (_msg, _send, done) => done(new Error("no sip-client account is configured for this node")));
      return;
    }
    const user: ClientUser = {
      id: node.id,
      onRegistration(state, detail) {
        node.status(registrationStatus(state, detail.reason));
        const msg: Record<string, unknown> = { topic: "registration", payload: state };
        if (state === "FAILED") msg.reason = detail.reason;
        if (detail.statusCode) msg.statusCode = detail.statusCode;
        node.send(msg);
      },
    };
    client.register(user);
    node.on("input", (msg, _send, done) => {
      done(new Error(`unknown topic "${String(msg.topic)}"`));
    });
    node.on("close", (done: () => void) => {
      client.deregister(user);
      done();
    });
  }
  RED.nodes.registerType("sip-call", SipCall as unknown as Parameters<NodeAPI["nodes"]["registerType"]>[1]);
};
