// What flow nodes may use of a sip-client config node.
import type { Node } from "node-red";
import type { Phone } from "../../src/phone/phone";
import type { RegistrationDetail } from "../../src/phone/registration";
import type { RegistrationState } from "../../src/types";
import type { SipClientConfig, SipClientCredentials } from "../sip-client/config";

export interface ClientUser {
  id: string;
  onRegistration(state: RegistrationState, detail: RegistrationDetail): void;
}

export interface SipClientNode extends Node<SipClientCredentials> {
  readonly config: SipClientConfig;
  phone?: Phone;
  registrationState: RegistrationState;
  registrationDetail: RegistrationDetail;
  register(user: ClientUser): void;
  deregister(user: ClientUser): void;
}

