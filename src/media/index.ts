// Media core: G.711, RTP, pacing, SDP and the sip.js description handler.
export * from "./direction.js";
export * from "./g711.js";
export * from "./rtp-packet.js";
export * from "./pacer.js";
export * from "./rtp-session.js";
export * from "./sdp.js";
export * from "./session-description-handler.js";
