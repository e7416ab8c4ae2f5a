// The telephone audio format of every stream, every clip and every DTMF tone: G.711 at
// 8 kHz, sent as one RTP packet per 20 ms. The RTP clock of G.711 and telephone-event runs
// at the sample rate, so a frame also advances the RTP timestamp by SAMPLES_PER_FRAME.

/** Samples per second (and the RTP clock rate of PCMU, PCMA and telephone-event/8000). */
export const SAMPLE_RATE = 8000;
/** Packet time: the only frame length this package sends (a=ptime). */
export const FRAME_MS = 20;
/** 20 ms at 8 kHz = 160 samples (and bytes of G.711). */
export const SAMPLES_PER_FRAME = (SAMPLE_RATE * FRAME_MS) / 1000;
