// Reads a GGUF file with node-llama-cpp's own JavaScript GGUF parser (independent of llama.cpp's C++ reader and of
// Sovra's) and prints one JSON line: version, metadata (nested by the dots in the keys; 64-bit integers as strings)
// and tensor infos. Usage: node gguf-read.mjs FILE.gguf
import { readGgufFileInfo } from "node-llama-cpp";

const info = await readGgufFileInfo(process.argv[2], { logWarnings: false, spliceSplitFiles: false });
const replacer = (_, v) => (typeof v === "bigint" ? v.toString() : v);
console.log(JSON.stringify({
  version: info.version,
  metadata: info.metadata,
  tensors: (info.fullTensorInfo ?? info.tensorInfo ?? []).map(t => ({
    name: t.name, dimensions: t.dimensions.map(d => d.toString()), type: t.ggmlType, offset: t.offset.toString(),
  })),
}, replacer));
