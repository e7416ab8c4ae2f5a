// The texts of the first-audio benchmarks (bench/speech/first-audio.ts, bench/calls.ts): 12 and 120
// words; "NOW" is replaced by one of VARIANTS to make a text no cache has seen.
export const SHORT = "The alarm in the kitchen went off, please check the house NOW."; // 12 words
export const LONG = [
  "Good evening Anna, this is your house calling now.",
  "The alarm in the kitchen went off two minutes ago and the smoke detector in the hall reports smoke.",
  "All windows on the ground floor are closed and the garage door is locked.",
  "The heating was switched off automatically and the ventilation is running at full speed.",
  "Nobody was seen by the camera at the front door during the last hour.",
  "If you are not at home, please ask a neighbour to check the house or call the fire brigade.",
  "Press one to confirm that you received this message, press two to hear it again.",
  "If nobody confirms within five minutes, the next person on the list will be called NOW.",
].join(" "); // 120 words
export const VARIANTS = ["now", "today", "please", "quickly", "soon", "again", "first", "here", "there", "later"];
