// Where a SIP message comes from or goes to, shared by the transports, the trust policy and
// UDP reliability.

/** An IP address (v4, or v6 without brackets) and a port. */
export interface Endpoint {
  address: string;
  port: number;
}
