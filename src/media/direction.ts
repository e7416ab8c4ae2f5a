// SDP media direction arithmetic (RFC 3264 section 6.1).

export type MediaDirection = "sendrecv" | "sendonly" | "recvonly" | "inactive";

export const MEDIA_DIRECTIONS: readonly MediaDirection[] = ["sendrecv", "sendonly", "recvonly", "inactive"];

export function isMediaDirection(value: string): value is MediaDirection {
  return (MEDIA_DIRECTIONS as readonly string[]).includes(value);
}

export function canSend(direction: MediaDirection): boolean {
  return direction === "sendrecv" || direction === "sendonly";
}

export function canReceive(direction: MediaDirection): boolean {
  return direction === "sendrecv" || direction === "recvonly";
}

export function directionOf(send: boolean, receive: boolean): MediaDirection {
  if (send) return receive ? "sendrecv" : "sendonly";
  return receive ? "recvonly" : "inactive";
}

/** The peer's direction seen from our side: their sendonly is our recvonly. */
export function reverseDirection(direction: MediaDirection): MediaDirection {
  return directionOf(canReceive(direction), canSend(direction));
}

/** Both constraints at once (e.g. what the peer allows and whether we hold). */
export function intersectDirections(a: MediaDirection, b: MediaDirection): MediaDirection {
  return directionOf(canSend(a) && canSend(b), canReceive(a) && canReceive(b));
}
