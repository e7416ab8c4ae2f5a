// Reading a Diagnose report in tests.
import assert from "assert";
import type { DoctorFinding, DoctorReport } from "../../src";

/** The report's finding `id`; fails the test, with the whole report, when there is none. */
export function finding(r: DoctorReport, id: DoctorFinding["id"]): DoctorFinding {
  const f = r.findings.find((x) => x.id === id);
  assert.ok(f, `finding ${id} in\n${r.text}`);
  return f;
}
