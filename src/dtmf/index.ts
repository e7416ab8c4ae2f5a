// Public surface of the DTMF layer.
export {
  InbandDtmfDetector,
  DTMF_LOW_HZ,
  DTMF_HIGH_HZ,
  DTMF_KEYPAD,
  type DetectedDigit,
  type InbandDtmfDetectorOptions,
} from "./inband-detector.js";
export {
  DtmfToneSource,
  generateDtmfTone,
  generateDualTone,
  dtmfFrequencies,
  normalizeDigit,
  mixPcm,
  type DtmfToneLevel,
  type DtmfToneSourceOptions,
  type DualToneSpec,
} from "./tone-generator.js";
export {
  Rfc4733Receiver,
  Rfc4733Sender,
  encodeTelephoneEvent,
  decodeTelephoneEvent,
  digitToEvent,
  eventToDigit,
  type TelephoneEvent,
  type RtpPacketInfo,
  type ReceivedDtmfEvent,
  type Rfc4733ReceiverOptions,
  type Rfc4733SenderOptions,
} from "./rfc4733.js";
export {
  parseSipInfoDtmf,
  parseDtmfRelayBody,
  parseDtmfBody,
  parseDigitToken,
  buildSipInfoDtmf,
  DTMF_RELAY_CONTENT_TYPE,
  DTMF_CONTENT_TYPE,
  type SipInfoDtmfResult,
  type SipInfoDtmfFormat,
} from "./sip-info.js";
export {
  DigitCollector,
  systemClock,
  type CollectedDigit,
  type CollectedCode,
  type CodeEnd,
  type CollectorClock,
  type DigitCollectorOptions,
} from "./collector.js";
export { DBM0_PEAK, DBM0_POWER, FULL_SCALE_DBM0, dbm0ToPeak, dbm0ToPower, powerToDbm0 } from "./levels.js";
