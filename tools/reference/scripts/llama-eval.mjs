// llama.cpp reference for Sovra's engine tests (node-llama-cpp, CPU prebuilt, no build).
// Reads one JSON request on stdin:
//   {"model": path, "tokens": [ids], "threads": 2, "mode": "probs", "out": path}
//     -> writes float32 [n_tokens, n_vocab] next-token probabilities (softmax of the raw logits) to `out`
//   {"model": path, "tokens": [ids], "threads": 2, "mode": "greedy", "n": 64}
//     -> prints {"tokens": [generated ids]} (argmax decoding, stops only at n)
import { getLlama } from "node-llama-cpp";
import fs from "node:fs";

const req = JSON.parse(fs.readFileSync(0, "utf8"));
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error", maxThreads: req.threads ?? 2 });
const model = await llama.loadModel({ modelPath: req.model, useMmap: true });
const nVocab = model.tokens.length ?? model.fileInsights?.tensorInfo ?? 0;
const n = req.tokens.length + (req.n ?? 0) + 8;
const context = await model.createContext({ contextSize: Math.max(n, 64), batchSize: Math.max(req.tokens.length, 8), threads: req.threads ?? 2, sequences: 1 });
const seq = context.getSequence();

if (req.mode === "probs") {
  const vocab = req.vocab;
  const input = req.tokens.map(t => [t, { generateNext: { probabilities: true, options: { temperature: 0 } } }]);
  const res = await seq.controlledEvaluate(input);
  const out = new Float32Array(req.tokens.length * vocab);
  for (let i = 0; i < req.tokens.length; i++) {
    const probs = res[i]?.next?.probabilities;
    if (!probs) throw new Error(`no probabilities at position ${i}`);
    for (const [tok, p] of probs) out[i * vocab + tok] = p;
  }
  fs.writeFileSync(req.out, Buffer.from(out.buffer));
  console.log(JSON.stringify({ positions: req.tokens.length, vocab }));
} else if (req.mode === "greedy") {
  const generated = [];
  let input = req.tokens.map((t, i) => i === req.tokens.length - 1 ? [t, { generateNext: { token: true, options: { temperature: 0 } } }] : t);
  while (generated.length < req.n) {
    const res = await seq.controlledEvaluate(input);
    const tok = res[input.length - 1]?.next?.token;
    if (tok == null) throw new Error("no token generated");
    generated.push(tok);
    input = [[tok, { generateNext: { token: true, options: { temperature: 0 } } }]];
  }
  console.log(JSON.stringify({ tokens: generated }));
} else {
  throw new Error(`unknown mode ${req.mode}`);
}
await context.dispose();
await model.dispose();
await llama.dispose();
