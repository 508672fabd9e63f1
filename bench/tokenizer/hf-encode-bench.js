// Times Hugging Face's Rust tokenizers (npm `tokenizers`) encoding a corpus on one thread, warm.
// usage: node hf-encode-bench.js TOKENIZER.json CORPUS.txt SECONDS  → {"batch_mbps":..,"call_mbps":..}
// batch: one encodeBatch call over all lines with TOKENIZERS_PARALLELISM=false (Rust encodes them serially,
//        on one thread): the library's own speed, with the JavaScript binding's cost paid once.
// call:  one awaited encode per line, timing only the calls: what a Node caller gets per request.
process.env.TOKENIZERS_PARALLELISM = "false";
const fs = require("fs");
const { Tokenizer } = require("tokenizers");
const [, , tokPath, corpusPath, secondsArg] = process.argv;
const tok = Tokenizer.fromFile(tokPath);
const lines = fs.readFileSync(corpusPath, "utf8").split("\n").filter((l) => l.length > 0);
const bytes = lines.reduce((n, l) => n + Buffer.byteLength(l, "utf8"), 0);
const seconds = +(secondsArg || 5);
const opts = { addSpecialTokens: false };
(async () => {
  await tok.encodeBatch(lines, opts); // warm-up
  let spent = 0n, passes = 0;
  while (Number(spent) / 1e9 < seconds || passes < 1) {
    const t0 = process.hrtime.bigint();
    const encs = await tok.encodeBatch(lines, opts);
    spent += process.hrtime.bigint() - t0;
    if (encs.length !== lines.length) throw new Error("short batch");
    passes++;
  }
  const batch = (bytes * passes) / 1e6 / (Number(spent) / 1e9);
  // Per call: a sample of the corpus keeps this measurement short (each call crosses threads).
  const sample = lines.filter((_, i) => i % 8 === 0);
  const sampleBytes = sample.reduce((n, l) => n + Buffer.byteLength(l, "utf8"), 0);
  for (const l of sample.slice(0, 500)) await tok.encode(l, null, opts);
  let callSpent = 0n;
  for (const l of sample) {
    const t0 = process.hrtime.bigint();
    await tok.encode(l, null, opts);
    callSpent += process.hrtime.bigint() - t0;
  }
  const call = sampleBytes / 1e6 / (Number(callSpent) / 1e9);
  console.log(JSON.stringify({ batch_mbps: batch, call_mbps: call }));
})();
