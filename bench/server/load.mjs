// N concurrent streamed completions against an OpenAI-compatible server; prints one JSON line:
// aggregate generated tokens/s over the wall time, and time to first token per stream.
// Usage: node load.mjs --url http://127.0.0.1:PORT --model ID --streams N --tokens T
const args = process.argv.slice(2);
const opt = (n, d) => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : d; };
const url = opt("--url"), model = opt("--model"), streams = Number(opt("--streams", "1")), tokens = Number(opt("--tokens", "64"));
import { prompts } from "./prompts.mjs";

async function one(i) {
  const started = performance.now();
  const response = await fetch(`${url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, prompt: prompts[i % prompts.length], max_tokens: tokens, temperature: 0, stream: true, stream_options: { include_usage: true } }),
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
  const decoder = new TextDecoder();
  let buffer = "", ttft = null, generated = 0;
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk, { stream: true });
    let k;
    while ((k = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, k); buffer = buffer.slice(k + 2);
      if (!event.startsWith("data: ") || event === "data: [DONE]") continue;
      const data = JSON.parse(event.slice(6));
      if (data.choices?.length && ttft === null) ttft = performance.now() - started;
      if (data.usage) generated = data.usage.completion_tokens;
    }
  }
  return { ttft, generated, end: performance.now() };
}

const t0 = performance.now();
const results = await Promise.all(Array.from({ length: streams }, (_, i) => one(i)));
const wall = (Math.max(...results.map(r => r.end)) - t0) / 1000;
const total = results.reduce((s, r) => s + r.generated, 0);
const ttfts = results.map(r => r.ttft).sort((a, b) => a - b);
console.log(JSON.stringify({ engine: "sovra", streams, tokens: total, seconds: wall, tps: total / wall,
  ttft_ms_mean: ttfts.reduce((s, x) => s + x, 0) / ttfts.length, ttft_ms_max: ttfts[ttfts.length - 1] }));
