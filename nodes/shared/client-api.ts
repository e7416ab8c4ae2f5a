// What flow nodes may use of a sip-client config node.
import type { Node } from "node-red";
import type { DoctorReport, RegistrationDetail, RegistrationState, Softphone, SpeechService } from "../../src";

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
  /** Runs the SIP doctor on the running account and keeps its report (lastDiagnosis); testCall as Softphone.diagnose. */
  diagnose(language?: string, testCall?: boolean | string): Promise<DoctorReport>;
  /** The last SIP doctor report, for the editor and support requests. */
  lastDiagnosis?: DoctorReport;
}
