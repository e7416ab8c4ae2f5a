// sip.js's parseHeader() is typed `any`: it returns whatever its grammar built, or -1/undefined
// when the header does not parse. Name-addr headers (Contact, From, To, Refer-To...) are checked here.

import { Core } from "sip.js";

/** A message that sip.js can parse headers of (incoming requests and responses). */
interface ParsesHeaders {
  parseHeader(name: string, idx?: number): unknown;
}

/** Header `name` (its `idx`-th value) as a parsed name-addr, or undefined when absent or unparsable. */
export function parseNameAddr(message: ParsesHeaders, name: string, idx = 0): Core.NameAddrHeader | undefined {
  const value = message.parseHeader(name, idx);
  return value instanceof Core.NameAddrHeader ? value : undefined;
}
