// The sip-client config node: owns one SIP account (and later its media), shared by
// the flow nodes that use it. Like Node-RED's mqtt-broker: it goes online when the
// first user registers and goes offline (un-REGISTER, sockets closed) on close.

import type { NodeAPI, NodeDef } from "node-red";
import type { ClientUser, SipClientNode } from "../shared/client-api";
import { Phone } from "../../src/phone/phone";
import type { RegistrationDetail } from "../../src/phone/registration";
import type { RegistrationState } from "../../src/types";
import { accountFromConfig, SipClientConfig } from "./config";

export = function (RED: NodeAPI): void {
  function SipClient(this: SipClientNode, config: NodeDef & SipClientConfig) {
    RED.nodes.createNode(this, config);
    const node = this;
    const users = new Map<string, ClientUser>();
    (node as { config: SipClientConfig }).config = config;
    node.registrationState = "INACTIVE";
    node.registrationDetail = {};
    let closing = false;

    const publish = (state: RegistrationState, detail: RegistrationDetail) => {
      node.registrationState = state;
      node.registrationDetail = detail;
      for (const u of users.values()) u.onRegistration(state, detail);
    };

    const start = () => {
      if (node.phone || closing) return;
      let phone: Phone;
      try {
        phone = new Phone(accountFromConfig(config, node.credentials), { logSip: !!config.logSip });
      } catch (err) {
        // A configuration the core refuses: say so on every user node and stay alive.
        node.error(`SIP account "${config.name || config.username}": ${(err as Error).message}`);
        publish("FAILED", { reason: (err as Error).message });
        return;
      }
      node.phone = phone;
      phone.on("registration", (state, detail) => {
        if (state === "FAILED") node.warn(`registration failed: ${detail.reason}${detail.retryInMs ? ` (retry in ${Math.round(detail.retryInMs / 1000)} s)` : ""}`);
        else node.log(`registration: ${state}`);
        publish(state, detail);
      });
      phone.on("log", (level, text) => {
        if (level === "error") node.error(text);
        else if (level === "warn") node.warn(text);
        else if (level === "info") node.log(text);
        else node.debug(text);
      });
      phone.on("sip", (dir, text, peer) => node.log(`SIP ${dir === "in" ? "<<<" : ">>>"} ${peer.address}:${peer.port}\n${text}`));
      void phone.start();
    };

    node.register = (user) => {
      users.set(user.id, user);
      user.onRegistration(node.registrationState, node.registrationDetail);
      if (users.size === 1) setImmediate(start);
    };
    node.deregister = (user) => { users.delete(user.id); };

    node.on("close", (_removed: boolean, done: () => void) => {
      closing = true;
      const phone = node.phone;
      node.phone = undefined;
      if (!phone) { done(); return; }
      phone.stop(2000).then(() => done(), () => done());
    });
  }

  RED.nodes.registerType("sip-client", SipClient as unknown as Parameters<NodeAPI["nodes"]["registerType"]>[1], {
    credentials: { password: { type: "password" } },
  });
};
