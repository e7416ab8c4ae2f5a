// The sip-client config node: owns one SIP account (and later its media), shared by
// the flow nodes that use it. Like Node-RED's mqtt-broker: it goes online when the
// first user registers and goes offline (un-REGISTER, sockets closed) on close.

import type { Node, NodeAPI, NodeDef } from "node-red";
import type { ClientUser, SipClientNode } from "../shared/client-api";
import path from "path";
import { Softphone, parseCodecList, SpeechService } from "../../src";
import type { RegistrationDetail, RegistrationState } from "../../src";
import { num } from "../shared/values";
import {
  accountFromConfig,
  codecOrderFromConfig,
  dtmfMethodsFromConfig,
  rtpSecurityFromConfig,
  SipClientConfig,
  SipClientCredentials,
} from "./config";

/** The config node as this file sees it: the shared API, its properties and its credentials. */
type SipClientRuntime = SipClientNode & Node<SipClientCredentials> & { config: SipClientConfig };
import { registerAdminRoutesOnce } from "./admin";

export = function (RED: NodeAPI): void {
  registerAdminRoutesOnce(RED);
  function SipClient(this: SipClientRuntime, config: NodeDef & SipClientConfig) {
    RED.nodes.createNode(this, config);
    const node = this;
    const users = new Map<string, ClientUser>();
    node.config = config;
    node.registrationState = "INACTIVE";
    node.registrationDetail = {};
    let closing = false;

    const publish = (state: RegistrationState, detail: RegistrationDetail) => {
      node.registrationState = state;
      node.registrationDetail = detail;
      for (const u of users.values()) u.onRegistration(state, detail);
    };

    const speech = new SpeechService({
      cacheDir: RED.settings.userDir ? path.join(String(RED.settings.userDir), "sip-client-tts-cache") : undefined,
      defaultLanguage: config.ttsLanguage || "en-US",
      defaultEngine: config.ttsEngine || "pico",
      telephoneEq: config.ttsEq !== false,
      engineOptions: config.ttsCommand ? { command: { command: config.ttsCommand } } : undefined,
      onWarning: (m) => node.warn(m),
    });
    node.speech = speech;

    const start = () => {
      if (node.phone || closing) return;
      let phone: Softphone;
      try {
        phone = new Softphone({
          account: accountFromConfig(config, node.credentials),
          media: {
            codecs: parseCodecList(config.codecs),
            codecOrder: codecOrderFromConfig(config),
            rtpPortMin: num(config.rtpPortMin, 16384),
            rtpPortMax: num(config.rtpPortMax, 32767),
            rtpSecurity: rtpSecurityFromConfig(config),
          },
          speech,
          defaultLanguage: config.ttsLanguage || "en-US",
          logSip: !!config.logSip,
          dtmf: {
            ...dtmfMethodsFromConfig(config),
            durationMs: num(config.dtmfDuration, 100),
            gapMs: num(config.dtmfGap, 80),
          },
        });
      } catch (err) {
        // A configuration the core refuses: say so on every user node and stay alive.
        node.error(`SIP account "${config.name || config.username}": ${(err as Error).message}`);
        publish("FAILED", { reason: (err as Error).message });
        return;
      }
      node.phone = phone;
      if ((config.transport === "tls" || config.transport === "wss") && config.tlsRejectUnauthorized === false) {
        // Said once per start: anyone on the path can impersonate the server and read the password digest.
        node.warn(
          "TLS server certificate verification is off: the connection can be intercepted. Give the server's CA certificate instead and turn verification on.",
        );
      }
      phone.on("registration", (state, detail) => {
        if (state === "FAILED")
          node.warn(`registration failed: ${detail.reason}${detail.retryInMs ? ` (retry in ${Math.round(detail.retryInMs / 1000)} s)` : ""}`);
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
      for (const u of users.values()) u.onPhone?.(phone);
      // Warm the speech engine up so the first call does not wait for it.
      speech.warmUp([config.ttsLanguage || "en-US"]).catch((e: Error) => node.warn(`text-to-speech not ready: ${e.message}`));
      void phone.start();
    };

    node.register = (user) => {
      users.set(user.id, user);
      user.onRegistration(node.registrationState, node.registrationDetail);
      if (node.phone) user.onPhone?.(node.phone);
      if (users.size === 1) setImmediate(start);
    };
    node.deregister = (user) => {
      users.delete(user.id);
    };
    node.diagnose = async (language, testCall) => {
      const phone = node.phone;
      if (!phone) throw new Error("the SIP account is not started: it starts when a sip-call or sip-dtmf node uses it");
      const report = await phone.diagnose({ language, testCall });
      node.lastDiagnosis = report;
      return report;
    };

    node.on("close", (_removed: boolean, done: () => void) => {
      closing = true;
      const phone = node.phone;
      node.phone = undefined;
      const stopped = phone ? phone.stop(2000).catch(() => undefined) : Promise.resolve();
      stopped
        .then(() => speech.close())
        .then(
          () => done(),
          () => done(),
        );
    });
  }

  RED.nodes.registerType("sip-client", SipClient as unknown as Parameters<NodeAPI["nodes"]["registerType"]>[1], {
    // The client key is a credential: kept out of flow exports, like the password.
    credentials: { password: { type: "password" }, tlsKey: { type: "password" } },
  });
};
