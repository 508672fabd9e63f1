namespace Sovra.Engine.Synthetic;

/// <summary>What a tensor is for; the type policy and the weight initialiser key on it.</summary>
public enum TensorRole
{
    TokenEmbedding, Output, OutputNorm,
    AttnNorm, AttnQ, AttnK, AttnV, AttnOutput, AttnQNorm, AttnKNorm, AttnQBias, AttnKBias, AttnVBias,
    FfnNorm, FfnGate, FfnUp, FfnDown, FfnGateInp, FfnGateExps, FfnUpExps, FfnDownExps,
}

/// <summary>One tensor of a model, by llama.cpp's name; <see cref="Dims"/> in ggml order (Dims[0] = row length).</summary>
public sealed record TensorSpec(string Name, TensorRole Role, int Layer, long[] Dims)
{
    public long Elements => Dims.Aggregate(1L, (a, b) => checked(a * b));

    public bool IsNorm => Role is TensorRole.OutputNorm or TensorRole.AttnNorm or TensorRole.FfnNorm or TensorRole.AttnQNorm or TensorRole.AttnKNorm;

    public bool IsBias => Role is TensorRole.AttnQBias or TensorRole.AttnKBias or TensorRole.AttnVBias;

    /// <summary>The tensors of <paramref name="s"/> in the order llama.cpp's converter writes them.</summary>
    public static List<TensorSpec> For(ModelShape s, int vocab)
    {
        long h = s.Hidden, q = (long)s.Heads * s.HeadDim, kv = (long)s.KvHeads * s.HeadDim;
        var list = new List<TensorSpec> { new("token_embd.weight", TensorRole.TokenEmbedding, -1, [h, vocab]) };
        for (var i = 0; i < s.Layers; i++)
        {
            string N(string part) => $"blk.{i}.{part}";
            list.Add(new(N("attn_norm.weight"), TensorRole.AttnNorm, i, [h]));
            list.Add(new(N("attn_q.weight"), TensorRole.AttnQ, i, [h, q]));
            list.Add(new(N("attn_k.weight"), TensorRole.AttnK, i, [h, kv]));
            list.Add(new(N("attn_v.weight"), TensorRole.AttnV, i, [h, kv]));
            if (s.QkvBias)
            {
                list.Add(new(N("attn_q.bias"), TensorRole.AttnQBias, i, [q]));
                list.Add(new(N("attn_k.bias"), TensorRole.AttnKBias, i, [kv]));
                list.Add(new(N("attn_v.bias"), TensorRole.AttnVBias, i, [kv]));
            }
            if (s.QkNorm)
            {
                list.Add(new(N("attn_q_norm.weight"), TensorRole.AttnQNorm, i, [s.HeadDim]));
                list.Add(new(N("attn_k_norm.weight"), TensorRole.AttnKNorm, i, [s.HeadDim]));
            }
            list.Add(new(N("attn_output.weight"), TensorRole.AttnOutput, i, [q, h]));
            list.Add(new(N("ffn_norm.weight"), TensorRole.FfnNorm, i, [h]));
            if (s.IsMoE)
            {
                long e = s.Experts, f = s.ExpertFeedForward;
                list.Add(new(N("ffn_gate_inp.weight"), TensorRole.FfnGateInp, i, [h, e]));
                list.Add(new(N("ffn_gate_exps.weight"), TensorRole.FfnGateExps, i, [h, f, e]));
                list.Add(new(N("ffn_up_exps.weight"), TensorRole.FfnUpExps, i, [h, f, e]));
                list.Add(new(N("ffn_down_exps.weight"), TensorRole.FfnDownExps, i, [f, h, e]));
            }
            else
            {
                long f = s.FeedForward;
                list.Add(new(N("ffn_gate.weight"), TensorRole.FfnGate, i, [h, f]));
                list.Add(new(N("ffn_up.weight"), TensorRole.FfnUp, i, [h, f]));
                list.Add(new(N("ffn_down.weight"), TensorRole.FfnDown, i, [f, h]));
            }
        }
        list.Add(new("output_norm.weight", TensorRole.OutputNorm, -1, [h]));
        if (!s.TiedEmbeddings) list.Add(new("output.weight", TensorRole.Output, -1, [h, vocab]));
        return list;
    }
}
