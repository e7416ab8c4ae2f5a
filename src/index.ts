// The Node-RED-free core: a SIP phone for Node.js (registration, calls, RTP, DTMF, speech).
export { Softphone, parseCodecList, dialDomain } from "./softphone";
export type { SoftphoneOptions, MediaOptions, SoftphoneEvents } from "./softphone";
export { Phone } from "./phone/phone";
export type { AccountOptions } from "./phone/account";
export type { RegistrationDetail } from "./phone/registration";
export { CallManager } from "./call/call-manager";
export type { InboundPolicy, DialOptions, AfterGreeting } from "./call/call-manager";
export { Call } from "./call/call";
export { SpeechService, registerEngine } from "./speech";
export * from "./types";
