// llama.cpp speed on a GGUF file, measured like llama-bench (node-llama-cpp CPU prebuilt, no build):
// pp N = N random prompt tokens decoded in one batch into an empty context; tg N = N tokens decoded one at a
// time after an empty context; one warm-up of each, then `reps` timed runs.
// Usage: node llama-bench.mjs MODEL.gguf [pp=512] [tg=128] [threads=2] [reps=3]   -> one JSON line
import { getLlama } from "node-llama-cpp";

const [model, pp = "512", tg = "128", threads = "2", reps = "3"] = process.argv.slice(2);
const P = +pp, G = +tg, T = +threads, R = +reps;
const llama = await getLlama({ gpu: false, build: "never", logLevel: process.env.LLAMA_LOG ?? "error", maxThreads: T });
const t0 = performance.now();
const m = await llama.loadModel({ modelPath: model, useMmap: true });
const loadSeconds = (performance.now() - t0) / 1000;
// Ids below 256 exist in every vocabulary; the speed does not depend on which tokens they are.
const vocab = 256;
const ctx = await m.createContext({ contextSize: Math.max(P, G) + 64, batchSize: Math.max(P, 1), threads: { ideal: T, min: T }, sequences: 1 });
const seq = ctx.getSequence();
let seed = 12345;
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) % Math.min(vocab, 150000);
const tokens = n => Array.from({ length: n }, rnd);

async function measure(run, n) {
  await run();
  const out = [];
  for (let r = 0; r < R; r++) {
    const s = performance.now();
    await run();
    out.push(n / ((performance.now() - s) / 1000));
  }
  const mean = out.reduce((a, b) => a + b, 0) / out.length;
  const sd = out.length < 2 ? 0 : Math.sqrt(out.reduce((a, b) => a + (b - mean) ** 2, 0) / (out.length - 1));
  return { mean_tps: mean, sd_tps: sd, runs_tps: out };
}

const results = {};
if (P > 0) {
  const ids = tokens(P);
  results[`pp${P}`] = await measure(async () => { await seq.clearHistory(); await seq.evaluateWithoutGeneratingNewTokens(ids); }, P);
}
if (G > 0) {
  const ids = tokens(G);
  results[`tg${G}`] = await measure(async () => {
    await seq.clearHistory();
    for (const t of ids) await seq.evaluateWithoutGeneratingNewTokens([t]);
  }, G);
}
console.log(JSON.stringify({ model, threads: T, load_seconds: loadSeconds, rss_bytes: process.memoryUsage().rss, results }));
await ctx.dispose(); await m.dispose(); await llama.dispose();
