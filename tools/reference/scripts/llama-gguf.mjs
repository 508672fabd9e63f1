// Loads a GGUF file in llama.cpp (node-llama-cpp, prebuilt CPU binary, no download, no build) and prints one JSON
// line: what llama.cpp read from it and, with --generate N, N greedily generated tokens after --prompt.
// Usage: node llama-gguf.mjs MODEL.gguf [--generate N] [--prompt TEXT]
// Exit 0 when llama.cpp loaded the model; 1 (with {"ok":false,"error":...}) when it refused it.
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const args = process.argv.slice(2);
const modelPath = args[0];
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const generate = Number(opt("--generate", "0"));
const prompt = opt("--prompt", "Hello");

try {
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, progressLogs: false });
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  const result = {
    ok: true,
    trainContextSize: model.trainContextSize,
    embeddingVectorSize: model.embeddingVectorSize,
    vocabularyType: model.vocabularyType,
    architecture: model.fileInfo?.metadata?.general?.architecture ?? null,
    tokenCount: model.fileInfo?.metadata?.tokenizer?.ggml?.tokens?.length ?? null,
    bos: model.tokens.bos, eos: model.tokens.eos,
    promptTokens: Array.from(model.tokenize(prompt)),
    generated: [],
    text: "",
  };
  if (generate > 0) {
    const context = await model.createContext({ contextSize: 256, threads: 1 });
    const sequence = context.getSequence();
    for await (const token of sequence.evaluate(result.promptTokens, { temperature: 0 })) {
      result.generated.push(token);
      if (result.generated.length >= generate) break;
    }
    result.text = model.detokenize(result.generated);
    await context.dispose();
  }
  await model.dispose();
  console.log(JSON.stringify(result));
  process.exit(0);
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String(e?.message ?? e) }));
  process.exit(1);
}
