// The same load on llama.cpp (node-llama-cpp, prebuilt CPU binary): N sequences in one context, each
// generating T tokens greedily from its prompt, all at once; prints one JSON line like load.mjs.
// Usage: node llamacpp.mjs --model FILE.gguf --streams N --tokens T --threads K --context C --node-modules DIR
// contextSize is per sequence in node-llama-cpp, so C matches `sovra serve -c C` (positions per sequence).
import { pathToFileURL } from "node:url";
import { join } from "node:path";
import { prompts } from "./prompts.mjs";
const args = process.argv.slice(2);
const opt = (n, d) => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : d; };
const file = opt("--model"), streams = Number(opt("--streams", "1")), tokens = Number(opt("--tokens", "64")), threads = Number(opt("--threads", "2"));
const contextSize = Number(opt("--context", "1024"));
const { getLlama, LlamaLogLevel } = await import(pathToFileURL(join(opt("--node-modules"), "node-llama-cpp", "dist", "index.js")).href);

const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, progressLogs: false });
const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
const context = await model.createContext({ contextSize, sequences: streams, threads, batchSize: 512 });
const sequences = Array.from({ length: streams }, () => context.getSequence());

// Warm-up, as the server gets one: a few tokens on the first sequence, then its cells are cleared.
{
  let n = 0;
  for await (const _ of sequences[0].evaluate(Array.from(model.tokenize(prompts[0])), { temperature: 0 })) if (++n >= 8) break;
  await sequences[0].clearHistory();
}

async function one(i) {
  const started = performance.now();
  let ttft = null, generated = 0;
  for await (const _ of sequences[i].evaluate(Array.from(model.tokenize(prompts[i % prompts.length])), { temperature: 0 })) {
    if (ttft === null) ttft = performance.now() - started;
    if (++generated >= tokens) break;
  }
  return { ttft, generated, end: performance.now() };
}

const t0 = performance.now();
const results = await Promise.all(sequences.map((_, i) => one(i)));
const wall = (Math.max(...results.map(r => r.end)) - t0) / 1000;
const total = results.reduce((s, r) => s + r.generated, 0);
const ttfts = results.map(r => r.ttft).sort((a, b) => a - b);
console.log(JSON.stringify({ engine: "llama.cpp", streams, tokens: total, seconds: wall, tps: total / wall,
  ttft_ms_mean: ttfts.reduce((s, x) => s + x, 0) / ttfts.length, ttft_ms_max: ttfts[ttfts.length - 1] }));
await context.dispose();
await model.dispose();
process.exit(0);
