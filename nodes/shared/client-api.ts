// What flow nodes may use of a sip-client config node.
import type { Node } from "node-red";
import type { RegistrationDetail, RegistrationState, Softphone, SpeechService } from "../../src";

export interface ClientUser {
  id: string;
  onRegistration(state: RegistrationState, detail: RegistrationDetail): void;
  /** The account went online: attach to its call events (through the Softphone's methods). */
  onPhone?(phone: Softphone): void;
}

export interface SipClientNode extends Node {
  phone?: Softphone;
  speech: SpeechService;
  registrationState: RegistrationState;
  registrationDetail: RegistrationDetail;
  register(user: ClientUser): void;
  deregister(user: ClientUser): void;
}
