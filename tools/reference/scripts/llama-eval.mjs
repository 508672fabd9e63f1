// llama.cpp reference for Sovra's engine parity tests (node-llama-cpp, CPU prebuilt, never built here).
// Reads one JSON request on stdin:
//   {"model": path, "tokens": [prompt ids], "vocab": n_vocab, "threads": 2, "out": path, "greedy": 64,
//    "flashAttention": true|false (optional; absent: node-llama-cpp's default, "auto", which the CPU backend enables),
//    "promptBatch": n (optional: feed the prompt n tokens per evaluation instead of all at once; 1 = decode steps)}
// Writes float32 [n_prompt, n_vocab] to `out`: at each prompt position, llama.cpp's next-token probabilities
// (softmax of the raw logits, greedy sampler so nothing is truncated). Then continues with argmax decoding
// for `greedy` tokens and prints {"greedy": [ids]} on stdout.
import { getLlama } from "node-llama-cpp";
import fs from "node:fs";

const req = JSON.parse(fs.readFileSync(0, "utf8"));
const threads = req.threads ?? 2;
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error", maxThreads: threads });
const model = await llama.loadModel({ modelPath: req.model, useMmap: true });
const nPrompt = req.tokens.length;
const nGreedy = req.greedy ?? 0;
const context = await model.createContext({
  contextSize: Math.max(nPrompt + nGreedy + 16, 64), batchSize: Math.max(nPrompt, 8), threads, sequences: 1,
  ...(req.flashAttention != null ? { flashAttention: req.flashAttention } : {}),
});
const seq = context.getSequence();
const vocab = req.vocab;
const sample = { temperature: 0 };

const step = req.promptBatch ?? nPrompt;
const res = [];
for (let i = 0; i < nPrompt; i += step)
  res.push(...await seq.controlledEvaluate(req.tokens.slice(i, i + step).map(t => [t, { generateNext: { probabilities: true, token: true, options: sample } }])));
const out = new Float32Array(nPrompt * vocab);
for (let i = 0; i < nPrompt; i++) {
  const probs = res[i]?.next?.probabilities;
  if (!probs) throw new Error(`no probabilities at position ${i}`);
  for (const [tok, p] of probs) out[i * vocab + tok] = p;
}
if (req.out) fs.writeFileSync(req.out, Buffer.from(out.buffer));

// Each greedy step also reports llama.cpp's own top-1 lead over the runner-up (log p1 - log p2), so a test can
// tell a real disagreement from a near tie.
const greedy = [], gaps = [];
const gap = probs => { const [a, b] = [...probs.values()]; return Math.log(a) - Math.log(Math.max(b ?? 0, 1e-30)); };
let last = res[nPrompt - 1]?.next;
while (greedy.length < nGreedy) {
  if (last?.token == null) throw new Error("no token generated");
  greedy.push(last.token);
  gaps.push(gap(last.probabilities));
  if (greedy.length === nGreedy) break;
  const r = await seq.controlledEvaluate([[last.token, { generateNext: { token: true, probabilities: true, options: sample } }]]);
  last = r[0]?.next;
}
console.log(JSON.stringify({ positions: nPrompt, vocab, greedy, gaps }));
await context.dispose();
await model.dispose();
await llama.dispose();
