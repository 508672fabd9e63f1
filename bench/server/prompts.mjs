// Distinct prompts, one per stream, the same for both engines.
export const prompts = Array.from({ length: 16 }, (_, i) =>
  `Question ${i + 1}: describe in a few sentences how a ${["river", "city", "forest", "library", "market", "school", "harbour", "mountain"][i % 8]} changes over ${i + 2} centuries.`);
