// Offers in the shape real user agents send them (addresses and ids made up).
const crlf = (lines: string[]) => lines.join("\r\n") + "\r\n";

export const ASTERISK_OFFER = crlf([
  "v=0",
  "o=- 1693394829 1693394829 IN IP4 192.168.1.10",
  "s=Asterisk",
  "c=IN IP4 192.168.1.10",
  "t=0 0",
  "m=audio 14582 RTP/AVP 0 8 3 101",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:3 GSM/8000",
  "a=rtpmap:101 telephone-event/8000",
  "a=fmtp:101 0-16",
  "a=ptime:20",
  "a=maxptime:150",
  "a=sendrecv",
]);

export const FRITZBOX_OFFER = crlf([
  "v=0",
  "o=user 4961836 4961836 IN IP4 192.168.178.1",
  "s=call",
  "c=IN IP4 192.168.178.1",
  "t=0 0",
  "m=audio 7078 RTP/AVP 8 0 9 18 101",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:9 G722/8000",
  "a=rtpmap:18 G729/8000",
  "a=fmtp:18 annexb=no",
  "a=rtpmap:101 telephone-event/8000",
  "a=fmtp:101 0-15",
  "a=sendrecv",
  "a=rtcp:7079",
  "a=ptime:20",
]);

// baresip lists opus first and uses 97 for telephone-event; LF line ends.
export const BARESIP_OFFER = [
  "v=0",
  "o=- 2890844526 2890844527 IN IP4 10.0.0.5",
  "s=-",
  "c=IN IP4 10.0.0.5",
  "t=0 0",
  "m=audio 10002 RTP/AVP 96 9 0 8 97",
  "b=AS:64",
  "a=rtpmap:96 opus/48000/2",
  "a=fmtp:96 stereo=1;sprop-stereo=1",
  "a=rtpmap:9 G722/8000/1",
  "a=rtpmap:0 PCMU/8000/1",
  "a=rtpmap:8 PCMA/8000/1",
  "a=rtpmap:97 telephone-event/8000",
  "a=fmtp:97 0-15",
  "a=ptime:20",
  "a=sendrecv",
  "a=label:1",
  "a=rtcp-rsize",
  "a=ssrc:1209531235 cname:8e1ba7f6",
  "",
].join("\n");

// Offer in a 200 OK answering an INVITE without SDP (late offer): no rtpmap
// for static types, comfort noise, rtcp attribute with address.
export const LATE_OFFER_FREESWITCH = crlf([
  "v=0",
  "o=FreeSWITCH 1700000000 1700000001 IN IP4 203.0.113.7",
  "s=FreeSWITCH",
  "c=IN IP4 203.0.113.7",
  "t=0 0",
  "m=audio 23456 RTP/AVP 9 0 8 101 13",
  "a=rtpmap:101 telephone-event/8000",
  "a=fmtp:101 0-16",
  "a=rtpmap:13 CN/8000",
  "a=ptime:20",
  "a=sendrecv",
  "a=rtcp:23457 IN IP4 203.0.113.7",
]);

export const G729_ONLY_OFFER = crlf([
  "v=0",
  "o=- 1 1 IN IP4 198.51.100.20",
  "s=-",
  "c=IN IP4 198.51.100.20",
  "t=0 0",
  "m=audio 4000 RTP/AVP 18 101",
  "a=rtpmap:18 G729/8000",
  "a=fmtp:18 annexb=no",
  "a=rtpmap:101 telephone-event/8000",
  "a=fmtp:101 0-15",
]);

export const SRTP_OFFER = crlf([
  "v=0",
  "o=- 5 5 IN IP4 198.51.100.21",
  "s=-",
  "c=IN IP4 198.51.100.21",
  "t=0 0",
  "m=audio 5004 RTP/SAVP 0 8 101",
  "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz",
  "a=rtpmap:101 telephone-event/8000",
  "a=sendrecv",
]);

export const WEBRTC_OFFER = crlf([
  "v=0",
  "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8 126",
  "c=IN IP4 0.0.0.0",
  "a=rtcp:9 IN IP4 0.0.0.0",
  "a=ice-ufrag:abcd",
  "a=fingerprint:sha-256 00:11",
  "a=rtpmap:111 opus/48000/2",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:126 telephone-event/8000",
  "a=sendrecv",
]);

// SDES "best effort": the same audio once encrypted, once plain.
export const SAVP_AND_AVP_OFFER = crlf([
  "v=0",
  "o=- 9 9 IN IP4 198.51.100.22",
  "s=-",
  "c=IN IP4 198.51.100.22",
  "t=0 0",
  "m=audio 6000 RTP/SAVP 8 101",
  "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz",
  "a=rtpmap:101 telephone-event/8000",
  "m=audio 6002 RTP/AVP 8 101",
  "c=IN IP4 198.51.100.23",
  "a=rtpmap:101 telephone-event/8000",
  "a=fmtp:101 0-16",
  "m=video 6004 RTP/AVP 96",
  "a=rtpmap:96 H264/90000",
]);

/** Replaces one line (by prefix) or appends it. */
export function withLine(sdp: string, prefix: string, line: string): string {
  const lines = sdp.split("\r\n");
  const i = lines.findIndex((l) => l.startsWith(prefix));
  if (i >= 0) lines[i] = line;
  else lines.splice(lines.length - 1, 0, line);
  return lines.join("\r\n");
}
