// An estimated MOS for a G.711 call from what RTCP tells us (loss, jitter, round-trip time), by
// the E-model of ITU-T G.107 with its default values for everything we cannot measure. The
// formula and the constants are documented in docs/call-quality.md; in short:
//
//   R   = Ro - Is - Id - Ie,eff + A                        (G.107 eq. 7-1; A = 0)
//   Ro  = 15 - 1.5 (SLR + No)      = 94.77 with defaults   (basic signal-to-noise ratio)
//   Is  = Iolr + Ist + Iq          =  1.41 with defaults   (simultaneous impairments)
//   Id  = Idte + Idle + Idd                               (delay impairments, T = Ta, Tr = 2 T)
//   Ie,eff = Ie + (95 - Ie) Ppl / (Ppl / BurstR + Bpl)     (Ie = 0 for G.711)
//   MOS = 1 + 0.035 R + R (R - 60)(100 - R) 7e-6           (G.107 Annex B, 0 < R < 100)
//
// with the one-way mouth-to-ear delay estimated as RTT/2 + one frame of packetisation + a jitter
// buffer of max(JITTER_BUFFER_MIN_MS, JITTER_BUFFER_JITTER_FACTOR x jitter).
// All defaults give R = 93.2 and MOS 4.41 at zero delay and loss (the G.107 reference point).
// This is a planning model fed with network statistics: an estimate, not a listening test.

import { FRAME_MS } from "./audio-format";

/** Default parameter values of G.107 Table 1 (the ones not derived from measurements). */
export const E_MODEL_DEFAULTS = Object.freeze({
  /** Send loudness rating, dB. */
  SLR: 8,
  /** Receive loudness rating, dB. */
  RLR: 2,
  /** Sidetone masking rating, dB. */
  STMR: 15,
  /** Listener sidetone rating, dB. */
  LSTR: 18,
  /** D-value of the telephone, send and receive side. */
  Ds: 3,
  Dr: 3,
  /** Talker echo loudness rating, dB. */
  TELR: 65,
  /** Weighted echo path loss, dB. */
  WEPL: 110,
  /** Quantising distortion units. */
  qdu: 1,
  /** Room noise at the send and receive side, dB(A). */
  Ps: 35,
  Pr: 35,
  /** Circuit noise referred to the 0 dBr point, dBm0p. */
  Nc: -70,
  /** Noise floor at the receive side, dBmp. */
  Nfor: -64,
  /** Advantage factor (0: a wired phone, no advantage of access). */
  A: 0,
  /** Delay sensitivity (G.107 since 2011): mT, the minimum perceivable delay in ms, and sT. */
  mT: 100,
  sT: 1,
});

/** Equipment impairment of G.711 (G.113 Appendix I): the codec itself costs nothing. */
export const G711_IE = 0;
/** Packet-loss robustness of G.711 with packet loss concealment (G.711 Appendix I), G.113 Appendix I. */
export const G711_BPL_WITH_PLC = 25.1;
/** Packet-loss robustness of G.711 without concealment (lost frames are silence), G.113 Appendix I. */
export const G711_BPL_WITHOUT_PLC = 4.3;
/** Burst ratio for random (independent) loss: RTCP reports give no burst information. */
export const RANDOM_LOSS_BURST_R = 1;

/** Packetisation delay: one frame of audio (ptime 20 ms) is collected before it is sent. */
export const DEFAULT_FRAME_MS = FRAME_MS;
/** The smallest jitter buffer assumed at the listener, ms (one frame). */
export const JITTER_BUFFER_MIN_MS = 20;
/** A jitter buffer that absorbs nearly all late packets holds about twice the mean jitter. */
export const JITTER_BUFFER_JITTER_FACTOR = 2;

/** The reference MOS range of G.107 Annex B. */
export const MOS_MIN = 1;
export const MOS_MAX = 4.5;

const log10 = Math.log10;

/** Ro, the basic signal-to-noise ratio (G.107 §7.2), and the noise No it is built from. */
function basicSignalToNoise(): { Ro: number; No: number } {
  const d = E_MODEL_DEFAULTS;
  const OLR = d.SLR + d.RLR;
  const Nos = d.Ps - d.SLR - d.Ds - 100 + 0.004 * (d.Ps - OLR - d.Ds - 14) ** 2;
  const Pre = d.Pr + 10 * log10(1 + 10 ** ((10 - d.LSTR) / 10));
  const Nor = d.RLR - 121 + Pre + 0.008 * (Pre - 35) ** 2;
  const Nfo = d.Nfor + d.RLR;
  const No = 10 * log10(10 ** (d.Nc / 10) + 10 ** (Nos / 10) + 10 ** (Nor / 10) + 10 ** (Nfo / 10));
  return { Ro: 15 - 1.5 * (d.SLR + No), No };
}

const RO_NO = basicSignalToNoise();

/** Ro with the default parameters (94.77). */
export function basicSignalToNoiseRatio(): number {
  return RO_NO.Ro;
}

/** Is = Iolr + Ist + Iq, the simultaneous impairment factor (G.107 §7.3), at talker echo delay T ms (1.41 with defaults). */
export function simultaneousImpairment(T = 0): number {
  const d = E_MODEL_DEFAULTS;
  const { Ro, No } = RO_NO;
  const OLR = d.SLR + d.RLR;
  const Xolr = OLR + 0.2 * (64 + No - d.RLR);
  const Iolr = 20 * ((1 + (Xolr / 8) ** 8) ** (1 / 8) - Xolr / 8);
  const STMRo = -10 * log10(10 ** (-d.STMR / 10) + Math.exp(-T / 4) * 10 ** (-d.TELR / 10));
  const Ist =
    12 * (1 + ((STMRo - 13) / 6) ** 8) ** (1 / 8) -
    28 * (1 + ((STMRo + 1) / 19.4) ** 35) ** (1 / 35) -
    13 * (1 + ((STMRo - 3) / 33) ** 13) ** (1 / 13) +
    29;
  const Q = 37 - 15 * log10(d.qdu);
  const G = 1.07 + 0.258 * Q + 0.0602 * Q ** 2;
  const Y = (Ro - 100) / 15 + 46 / 8.4 - G / 9;
  const Z = 46 / 30 - G / 40;
  const Iq = 15 * log10(1 + 10 ** Y + 10 ** Z);
  return Iolr + Ist + Iq;
}

/** Idte, talker echo impairment (G.107 §7.4) at a mean one-way echo path delay T in ms. */
export function talkerEchoImpairment(T: number): number {
  const d = E_MODEL_DEFAULTS;
  const Roe = -1.5 * (RO_NO.No - d.RLR);
  const TERV = d.TELR - 40 * log10((1 + T / 10) / (1 + T / 150)) + 6 * Math.exp(-0.3 * T ** 2);
  const Re = 80 + 2.5 * (TERV - 14);
  return ((Roe - Re) / 2 + Math.sqrt((Roe - Re) ** 2 / 4 + 100) - 1) * (1 - Math.exp(-T));
}

/** Idle, listener echo impairment (G.107 §7.4) at a round-trip delay Tr in ms (0.15 at Tr = 0). */
export function listenerEchoImpairment(Tr: number): number {
  const Ro = RO_NO.Ro;
  const Rle = 10.5 * (E_MODEL_DEFAULTS.WEPL + 7) * (Tr + 1) ** -0.25;
  return (Ro - Rle) / 2 + Math.sqrt((Ro - Rle) ** 2 / 4 + 169);
}

/** Idd, impairment by too-long absolute delay Ta in ms (G.107 §7.4): 0 up to mT = 100 ms. */
export function absoluteDelayImpairment(Ta: number): number {
  const d = E_MODEL_DEFAULTS;
  if (!(Ta > d.mT)) return 0;
  const X = log10(Ta / d.mT) / log10(2);
  const p = 6 * d.sT;
  return 25 * ((1 + X ** p) ** (1 / p) - 3 * (1 + (X / 3) ** p) ** (1 / p) + 2);
}

/**
 * Id = Idte + Idle + Idd, the delay impairment, for a one-way delay in ms. With no echo
 * canceller figures to go on, G.107's defaults tie the delays together: T = Ta, Tr = 2 T.
 */
export function delayImpairment(oneWayDelayMs: number): number {
  const T = Math.max(0, oneWayDelayMs);
  return talkerEchoImpairment(T) + listenerEchoImpairment(2 * T) + absoluteDelayImpairment(T);
}

/** Ie,eff for G.711 at a packet loss in percent (G.107 §7.5, eq. 7-29). */
export function effectiveEquipmentImpairment(lossPercent: number, opts: { plc?: boolean; burstR?: number } = {}): number {
  const Ppl = clamp(lossPercent, 0, 100);
  const Bpl = opts.plc ? G711_BPL_WITH_PLC : G711_BPL_WITHOUT_PLC;
  const burstR = opts.burstR && opts.burstR > 0 ? opts.burstR : RANDOM_LOSS_BURST_R;
  return G711_IE + ((95 - G711_IE) * Ppl) / (Ppl / burstR + Bpl);
}

/** The transmission rating R for a G.711 call with the given one-way delay and packet loss. */
export function rFactor(oneWayDelayMs: number, lossPercent: number, opts: { plc?: boolean; burstR?: number } = {}): number {
  const T = Math.max(0, oneWayDelayMs);
  return RO_NO.Ro - simultaneousImpairment(T) - delayImpairment(T) - effectiveEquipmentImpairment(lossPercent, opts) + E_MODEL_DEFAULTS.A;
}

/** MOS (conversational quality estimate) from R, G.107 Annex B, clamped to [1, 4.5]. */
export function mosFromR(r: number): number {
  if (!Number.isFinite(r) || r <= 0) return MOS_MIN;
  if (r >= 100) return MOS_MAX;
  const mos = 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6;
  // The cubic dips just under 1 for R below ~6.5: keep the scale's floor.
  return clamp(mos, MOS_MIN, MOS_MAX);
}

export interface CallQualityInput {
  /** Fraction of packets lost, 0-1. */
  lossFraction: number;
  /** Interarrival jitter in ms. */
  jitterMs: number;
  /** Round-trip time from RTCP, or null when not known (then the network delay counts as 0). */
  rttMs: number | null;
  /** Does the listener conceal lost frames? Default false: the estimate errs low. */
  plc?: boolean;
  /** Burst ratio; default 1 (random loss). */
  burstR?: number;
  /** Packetisation time in ms; default 20. */
  frameMs?: number;
}

export interface CallQuality {
  /** Estimated MOS, 1-4.5, rounded to 2 decimals. */
  mos: number;
  /** Transmission rating R, rounded to 1 decimal. */
  r: number;
  /** The one-way delay the estimate used, ms. */
  oneWayDelayMs: number;
  /** Packet loss the estimate used, percent. */
  lossPercent: number;
}

/** The one-way mouth-to-ear delay we assume: network + packetisation + jitter buffer, ms. */
export function estimatedOneWayDelayMs(input: Pick<CallQualityInput, "jitterMs" | "rttMs" | "frameMs">): number {
  const network = input.rttMs !== null && Number.isFinite(input.rttMs) ? Math.max(0, input.rttMs) / 2 : 0;
  const jitter = Number.isFinite(input.jitterMs) ? Math.max(0, input.jitterMs) : 0;
  const frame = input.frameMs !== undefined && input.frameMs > 0 ? input.frameMs : DEFAULT_FRAME_MS;
  return network + frame + Math.max(JITTER_BUFFER_MIN_MS, JITTER_BUFFER_JITTER_FACTOR * jitter);
}

/** Estimated call quality from RTCP statistics. Never throws; garbage in gives a bounded answer. */
export function estimateCallQuality(input: CallQualityInput): CallQuality {
  const oneWayDelayMs = estimatedOneWayDelayMs(input);
  const lossPercent = Number.isFinite(input.lossFraction) ? clamp(input.lossFraction, 0, 1) * 100 : 0;
  const r = rFactor(oneWayDelayMs, lossPercent, { plc: input.plc, burstR: input.burstR });
  return {
    mos: Math.round(mosFromR(r) * 100) / 100,
    r: Math.round(clamp(r, 0, 100) * 10) / 10,
    oneWayDelayMs: Math.round(oneWayDelayMs),
    lossPercent: Math.round(lossPercent * 100) / 100,
  };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
