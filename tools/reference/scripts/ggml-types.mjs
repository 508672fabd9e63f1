// Prints, as one JSON array, the block size and block bytes that the llama.cpp binary itself (ggml_blck_size,
// ggml_type_size through node-llama-cpp's bindings) reports for every ggml type id 0..63; null where it has none.
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, progressLogs: false });
const out = [];
for (let id = 0; id < 64; id++) {
  let blockSize = null, typeSize = null;
  try {
    blockSize = llama._bindings.getBlockSizeForGgmlType(id) ?? null;
    typeSize = llama._bindings.getTypeSizeForGgmlType(id) ?? null;
  } catch { /* unknown id */ }
  out.push({ id, blockSize, typeSize });
}
console.log(JSON.stringify(out));
process.exit(0);
