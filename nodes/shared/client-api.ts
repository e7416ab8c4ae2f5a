// What flow nodes may use of a sip-client config node.
import type { Node } from "node-red";
import type { Softphone } from "../../src/softphone";
import type { SpeechService } from "../../src/speech";
import type { RegistrationDetail } from "../../src/phone/registration";
import type { RegistrationState } from "../../src/types";
import type { SipClientConfig, SipClientCredentials } from "../sip-client/config";

export interface ClientUser {
  id: string;
  onRegistration(state: RegistrationState, detail: RegistrationDetail): void;
  /** The account went online: attach to its call events. */
  onPhone?(phone: Softphone): void;
}

export interface SipClientNode extends Node<SipClientCredentials> {
  readonly config: SipClientConfig;
  phone?: Softphone;
  speech: SpeechService;
  registrationState: RegistrationState;
  registrationDetail: RegistrationDetail;
  register(user: ClientUser): void;
  deregister(user: ClientUser): void;
}

