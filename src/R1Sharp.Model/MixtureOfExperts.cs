// Mixture-of-experts feed-forward blocks: Qwen3-MoE (transformers' modeling_qwen3_moe.py) and DeepSeek-V3
// (modeling_deepseek_v3.py). A DecoderLayer uses one in place of its dense Mlp when ModelConfig.Moe says the layer is sparse.
//
// For the N = B·T tokens h (N, C) of a layer, with E routed experts, each a SwiGLU Mlp of width moe_intermediate_size:
//
//   Qwen3-MoE (RouterKind.Softmax):
//     p = softmax(gate(h))                         (N, E)   router_logits = gate(h)
//     S = top-k(p) (k = num_experts_per_tok)       w_i = p_i, or p_i / Σ_{j∈S} p_j when norm_topk_prob
//     y = Σ_{i∈S} w_i · expert_i(h)
//
//   DeepSeek-V3 (RouterKind.SigmoidGrouped):
//     s = sigmoid(gate(h))                         (N, E)   in float32
//     c = s + e_score_correction_bias              used ONLY to choose experts, never to weight them
//     the E experts form n_group groups; a group's score = the sum of its two best c; keep the topk_group best groups
//     S = top-k of c over the kept groups' experts (the others' c set to 0, as transformers does)
//     w_i = s_i (normalised by Σ_{j∈S} s_j + 1e-20 when norm_topk_prob) × routed_scaling_factor
//     y = Σ_{i∈S} w_i · expert_i(h) + shared_experts(h)      (shared: one Mlp of width moe_intermediate_size × n_shared_experts)
//
// Dispatch: the N·k (token, expert) pairs are sorted by expert; each expert runs once on its contiguous slice of the
// gathered tokens (index_select), and the weighted outputs go back with one index_add — no loop over tokens, gradients
// flow to the experts, the router (through w) and the hidden states. ExpertDispatch.Batched instead runs all experts in
// one bmm per projection over chunks of the sorted pairs (SparseMoe.Batched); same results and gradients (tested), but
// slower on the CPU at these sizes, so it is opt-in.
//
// Balancing (training):
//   Qwen3-MoE: the Switch-Transformer loss transformers adds when output_router_logits is true:
//     over the router logits of all sparse layers concatenated (L·N rows),
//     f_{k,i} = fraction of rows whose k-th choice is i, P_i = mean softmax probability of i;  loss = E · Σ_{k,i} f_{k,i} P_i,
//     added to the LM loss × router_aux_loss_coef.
//   DeepSeek-V3: auxiliary-loss-free balancing: after each optimiser step, each sparse layer's e_score_correction_bias
//     moves by γ against its load: bias_i -= γ · sign(load_i − mean load) (overloaded down, underloaded up), with the
//     load counted over the step's training forwards; plus the small sequence-wise balance loss
//     α · mean_sequences Σ_i f_i P_i, f_i = E/(k·T) · (tokens of the sequence sent to i), P_i = mean_t s_{t,i} / Σ_j s_{t,j}.
//   Padding (ExpertBalance.MarkPadding: the batch's real tokens) is left out of both losses, as transformers does for
//   Qwen3-MoE given an attention mask. Under gradient accumulation each micro-batch's term is weighted by its share of the
//   step's sequences (OptimizerStep.Backward), which makes the sequence-wise loss equal to the full batch's.
using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace R1Sharp.Model;

/// <summary>How the router turns its logits into experts and weights.</summary>
public enum RouterKind
{
    /// <summary>Qwen3-MoE: softmax, top-k, optionally renormalised.</summary>
    Softmax,
    /// <summary>DeepSeek-V3: sigmoid, bias-corrected group-limited selection, unbiased weights × routed_scaling_factor.</summary>
    SigmoidGrouped,
}

/// <summary>The mixture-of-experts fields of config.json (Qwen3MoeConfig / DeepseekV3Config names in the comments).</summary>
public sealed record MoeSettings
{
    public required RouterKind Router { get; init; }
    /// <summary>num_experts (Qwen3-MoE) / n_routed_experts (DeepSeek-V3).</summary>
    public required int NumExperts { get; init; }
    /// <summary>num_experts_per_tok.</summary>
    public required int TopK { get; init; }
    /// <summary>moe_intermediate_size: the width of each routed (and shared) expert.</summary>
    public required int ExpertIntermediateSize { get; init; }
    /// <summary>norm_topk_prob.</summary>
    public bool NormTopkProb { get; init; }
    /// <summary>Qwen3-MoE decoder_sparse_step: layer i is sparse when (i + 1) % step == 0 …</summary>
    public int DecoderSparseStep { get; init; } = 1;
    /// <summary>… and i is not in mlp_only_layers.</summary>
    public IReadOnlyList<int> MlpOnlyLayers { get; init; } = [];
    /// <summary>DeepSeek-V3 first_k_dense_replace: the first k layers are dense.</summary>
    public int FirstKDenseReplace { get; init; }
    /// <summary>n_group, topk_group: group-limited routing (DeepSeek-V3).</summary>
    public int NumGroups { get; init; } = 1;
    public int TopkGroup { get; init; } = 1;
    /// <summary>routed_scaling_factor (DeepSeek-V3).</summary>
    public double RoutedScalingFactor { get; init; } = 1.0;
    /// <summary>n_shared_experts (DeepSeek-V3): one Mlp of width moe_intermediate_size × n that every token passes.</summary>
    public int NumSharedExperts { get; init; }
    /// <summary>router_aux_loss_coef (Qwen3-MoE).</summary>
    public double RouterAuxLossCoef { get; init; } = 0.001;
    /// <summary>output_router_logits (Qwen3-MoE): whether training adds the load-balancing loss.</summary>
    public bool OutputRouterLogits { get; init; }

    /// <summary>Whether layer <paramref name="layer"/> (0-based) has experts.</summary>
    public bool IsSparse(int layer) => Router == RouterKind.Softmax
        ? !MlpOnlyLayers.Contains(layer) && (layer + 1) % DecoderSparseStep == 0
        : layer >= FirstKDenseReplace;

    /// <summary>Writes the fields under transformers' names for <paramref name="architecture"/>.</summary>
    public void WriteTo(Architecture architecture, JsonObject json)
    {
        json["num_experts_per_tok"] = TopK;
        json["moe_intermediate_size"] = ExpertIntermediateSize;
        json["norm_topk_prob"] = NormTopkProb;
        if (architecture == Architecture.Qwen3Moe)
        {
            json["num_experts"] = NumExperts;
            json["decoder_sparse_step"] = DecoderSparseStep;
            json["mlp_only_layers"] = new JsonArray(MlpOnlyLayers.Select(i => (JsonNode)i).ToArray());
            json["router_aux_loss_coef"] = RouterAuxLossCoef;
            json["output_router_logits"] = OutputRouterLogits;
        }
        else
        {
            json["n_routed_experts"] = NumExperts;
            json["first_k_dense_replace"] = FirstKDenseReplace;
            json["n_group"] = NumGroups;
            json["topk_group"] = TopkGroup;
            json["routed_scaling_factor"] = RoutedScalingFactor;
            json["n_shared_experts"] = NumSharedExperts;
        }
    }
}

/// <summary>
/// The router (<c>mlp.gate</c>): <c>weight</c> (E, C) and, for DeepSeek-V3, <c>e_score_correction_bias</c> (E), a parameter
/// without gradient that only the balancing update changes.
/// </summary>
public sealed class Router : nn.Module
{
    public Parameter weight;
    public Parameter? e_score_correction_bias;
    readonly MoeSettings s;

    public Router(long hidden, MoeSettings settings, ScalarType dtype, Device device) : base(nameof(Router))
    {
        s = settings;
        weight = new Parameter(empty(settings.NumExperts, hidden, dtype: dtype, device: device));
        if (settings.Router == RouterKind.SigmoidGrouped)
            e_score_correction_bias = new Parameter(zeros(settings.NumExperts, dtype: ScalarType.Float32, device: device), requires_grad: false);
        RegisterComponents();
    }

    /// <summary>
    /// Experts (N, k) and their weights (N, k) for tokens h (N, C), and the router's raw output for the balancing losses:
    /// logits (Softmax) or sigmoid scores (SigmoidGrouped), (N, E) float32.
    /// </summary>
    public (Tensor Experts, Tensor Weights, Tensor Scores) Route(Tensor h)
    {
        if (s.Router == RouterKind.Softmax)
        {
            var logits = nn.functional.linear(h, weight);                       // (N, E) in the model's dtype
            var probs = nn.functional.softmax(logits.to(ScalarType.Float32), 1);
            var (top, experts) = probs.topk(s.TopK, dim: -1);
            if (s.NormTopkProb) top = top / top.sum(-1, keepdim: true);
            return (experts, top.to(h.dtype), logits.to(ScalarType.Float32));
        }

        var scores = nn.functional.linear(h.to(ScalarType.Float32), weight.to(ScalarType.Float32)).sigmoid(); // (N, E)
        Tensor chosen;
        using (no_grad())
        {
            long n = scores.shape[0], e = s.NumExperts, perGroup = e / s.NumGroups;
            var choice = scores + e_score_correction_bias!.unsqueeze(0);
            var groupScores = choice.view(n, s.NumGroups, perGroup).topk(2, dim: -1).values.sum(-1);        // (N, G)
            var groups = groupScores.topk(s.TopkGroup, dim: -1, sorted: false).indexes;                       // (N, topk_group)
            var groupMask = zeros_like(groupScores).scatter(1, groups, ones_like(groups, dtype: groupScores.dtype));
            var expertMask = groupMask.unsqueeze(-1).expand(n, s.NumGroups, perGroup).reshape(n, e).to(ScalarType.Bool);
            chosen = choice.masked_fill(expertMask.logical_not(), 0.0).topk(s.TopK, dim: -1, sorted: false).indexes;
        }
        var weights = scores.gather(1, chosen);
        if (s.NormTopkProb) weights = weights / (weights.sum(-1, keepdim: true) + 1e-20);
        return (chosen, weights * s.RoutedScalingFactor, scores);
    }
}

/// <summary>
/// A sparse feed-forward layer (<c>mlp</c>): <c>gate</c> (the router), <c>experts.{i}</c> (SwiGLU Mlps) and, for DeepSeek-V3
/// with n_shared_experts &gt; 0, <c>shared_experts</c>.
/// </summary>
public sealed class SparseMoe : nn.Module<Tensor, Tensor>
{
    public Router gate;
    public ModuleList<Mlp> experts;
    public Mlp? shared_experts;
    readonly MoeSettings s;
    readonly long[] pendingLoad;

    public SparseMoe(ModelConfig c, ScalarType dtype, Device device) : base(nameof(SparseMoe))
    {
        s = c.Moe ?? throw new ArgumentException("not a mixture-of-experts config", nameof(c));
        gate = new Router(c.HiddenSize, s, dtype, device);
        experts = new ModuleList<Mlp>(Enumerable.Range(0, s.NumExperts).Select(_ => new Mlp(c, dtype, device, s.ExpertIntermediateSize)).ToArray());
        if (s.NumSharedExperts > 0) shared_experts = new Mlp(c, dtype, device, s.ExpertIntermediateSize * s.NumSharedExperts);
        pendingLoad = new long[s.NumExperts];
        RegisterComponents();
    }

    public MoeSettings Settings => s;

    /// <summary>Tokens per expert in the last forward.</summary>
    public long[] LastLoad { get; private set; } = [];

    /// <summary>Tokens per expert over the training forwards (grad enabled) since <see cref="TakePendingLoad"/>.</summary>
    public long[] PendingLoad => pendingLoad;

    /// <summary>The router output of the last forward with gradients enabled (valid while that forward's tensors live).</summary>
    public Tensor? LastScores { get; private set; }
    /// <summary>The experts chosen in the last forward with gradients enabled, (N, k).</summary>
    public Tensor? LastExperts { get; private set; }
    /// <summary>(B, T) of the last forward with gradients enabled.</summary>
    public (long Batch, long Time) LastShape { get; private set; }

    /// <summary>
    /// (B, T) bool, true on real tokens, of the last forward with gradients enabled (<see cref="ExpertBalance.MarkPadding"/>);
    /// null: every token counts in the balancing losses.
    /// </summary>
    public Tensor? LastTokenMask { get; internal set; }

    /// <summary>Drops the references to the last forward's router outputs.</summary>
    public void ForgetScores() => (LastScores, LastExperts, LastTokenMask) = (null, null, null);

    /// <summary>Returns the load counted since the last call and starts counting afresh.</summary>
    public long[] TakePendingLoad()
    {
        var load = (long[])pendingLoad.Clone();
        Array.Clear(pendingLoad);
        return load;
    }

    /// <summary>
    /// How the routed experts run in a forward with gradients: the per-expert loop (the default) or
    /// <see cref="ExpertDispatch.Batched"/>. The loop is also taken whenever an expert has LoRA adapters or biases (the
    /// batched path multiplies the bare weights) and in every forward without gradients (generation, scoring). The loop is
    /// the default because it measured faster on the CPU (bench/README.md, "Mixture of experts vs dense").
    /// </summary>
    public ExpertDispatch Dispatch { get; set; } = ExpertDispatch.PerExpert;

    public override Tensor forward(Tensor x) // (B, T, C) -> (B, T, C)
    {
        long b = x.shape[0], t = x.shape[1], c = x.shape[2], k = s.TopK, n = b * t;
        var h = x.reshape(n, c);
        var (chosen, weights, scores) = gate.Route(h);

        // Sort the N·k (token, expert) pairs by expert: pair p is token p / k's choice p % k.
        var flat = chosen.reshape(-1);
        var (sortedExperts, order) = flat.sort(stable: true);
        var tokens = order.div(k, rounding_mode: RoundingMode.floor);
        var load = bincount(flat, minlength: s.NumExperts).to(ScalarType.Int64).cpu().data<long>().ToArray();
        LastLoad = load;
        if (is_grad_enabled())
        {
            for (int i = 0; i < load.Length; i++) pendingLoad[i] += load[i];
            (LastScores, LastExperts, LastShape, LastTokenMask) = (scores, chosen, (b, t), null);
        }

        // Batched only when asked for and training; without gradients the loop runs only the experts that got tokens (a
        // decode step reaches k of them per row).
        Tensor y = Dispatch == ExpertDispatch.Batched && is_grad_enabled() && CanBatch()
            ? Batched(h, weights, sortedExperts, order, tokens, load)
            : PerExpert(h, weights, order, tokens, load);
        y = y.to(x.dtype);
        if (shared_experts is not null) y = y + shared_experts.forward(h);
        return y.view(b, t, c);
    }

    bool CanBatch()
    {
        foreach (var e in experts)
            foreach (var d in new[] { e.gate_proj, e.up_proj, e.down_proj })
                if (d.Adapter is not null || d.bias is not null) return false;
        return true;
    }

    /// <summary>
    /// All experts in three batched matmuls over contiguous segments. The pairs, sorted by expert, are laid out in chunks of
    /// <c>chunk</c> rows (chunk = max(16, ⌈N·k / 4E⌉)); an expert with load L takes ⌈L / chunk⌉ consecutive chunks, the
    /// unused rows of its last chunk read a zero row. Each chunk's matmul uses its expert's weights (the stacked (E, I, C)
    /// weights gathered per chunk), so one bmm runs every expert, and the padding is under E·chunk rows (≤ ¼ of the pairs
    /// when the batch is large) however unbalanced the routing. Pair outputs are gathered back beside their token's other
    /// choices and summed with the router weights. Every data movement is a gather, so the backward has a handful of large
    /// ops instead of a dozen small ones per expert.
    /// </summary>
    Tensor Batched(Tensor h, Tensor weights, Tensor sortedExperts, Tensor order, Tensor tokens, long[] load)
    {
        long n = h.shape[0], c = h.shape[1], k = s.TopK, pairs = n * k;
        int e = s.NumExperts;
        long chunk = Math.Max(16, (pairs + 4L * e - 1) / (4L * e));
        var offsets = new long[e];      // row of the layout − position in the sorted pairs, per expert
        var chunkExperts = new List<long>();
        long start = 0;
        for (int i = 0; i < e; i++)
        {
            offsets[i] = chunkExperts.Count * chunk - start;
            for (long r = 0; r < load[i]; r += chunk) chunkExperts.Add(i);
            start += load[i];
        }
        long rows = chunkExperts.Count * chunk;
        Tensor source, rowOfPair, chunkExpert;
        using (no_grad())
        {
            var row = arange(pairs, dtype: ScalarType.Int64, device: h.device) + tensor(offsets, device: h.device).index_select(0, sortedExperts);
            source = full(rows, n, ScalarType.Int64, device: h.device).index_put_(tokens, row); // unused rows → row n (zeros)
            rowOfPair = empty(pairs, dtype: ScalarType.Int64, device: h.device).index_put_(row, order);  // pair p → its row
            chunkExpert = tensor(chunkExperts.ToArray(), device: h.device);
        }
        long chunks = chunkExperts.Count;
        var x = cat([h, zeros(1, c, dtype: h.dtype, device: h.device)], 0).index_select(0, source).view(chunks, chunk, c);
        Tensor PerChunk(Func<Mlp, Tensor> weight) =>                                       // (chunks, in, out)
            stack(experts.Select(weight).ToList(), 0).index_select(0, chunkExpert).transpose(1, 2);
        var hidden = nn.functional.silu(x.bmm(PerChunk(m => m.gate_proj.weight))) * x.bmm(PerChunk(m => m.up_proj.weight));
        var outputs = hidden.bmm(PerChunk(m => m.down_proj.weight)).view(rows, c);
        // Weighted and summed in the weights' dtype (float32 for DeepSeek-V3, the model's for Qwen3-MoE), as transformers does.
        var perPair = outputs.index_select(0, rowOfPair).view(n, k, c).to(weights.dtype); // (N, k, C), pair order
        return (perPair * weights.unsqueeze(-1)).sum(1);
    }

    /// <summary>Each expert on its contiguous slice of the sorted pairs, outputs added back with one index_add.</summary>
    Tensor PerExpert(Tensor h, Tensor weights, Tensor order, Tensor tokens, long[] load)
    {
        long n = h.shape[0], c = h.shape[1];
        var gathered = h.index_select(0, tokens);                    // (N·k, C), grouped by expert
        var outputs = new List<Tensor>(s.NumExperts);
        long start = 0;
        for (int i = 0; i < s.NumExperts; i++)
        {
            if (load[i] == 0) continue;
            outputs.Add(experts[i].forward(gathered.narrow(0, start, load[i])));
            start += load[i];
        }
        var w = weights.reshape(-1).index_select(0, order).unsqueeze(-1);
        var weighted = cat(outputs, 0).to(w.dtype) * w;
        return zeros(n, c, dtype: w.dtype, device: h.device).index_add(0, tokens, weighted, 1.0);
    }
}

/// <summary>How <see cref="SparseMoe"/> runs its routed experts.</summary>
public enum ExpertDispatch
{
    /// <summary>One batched matmul per projection over the pairs sorted by expert, in chunks of contiguous rows.</summary>
    Batched,
    /// <summary>A loop over the experts, each on its slice of the tokens sorted by expert.</summary>
    PerExpert,
}

/// <summary>The balancing terms and statistics of a model's sparse layers.</summary>
public static class ExpertBalance
{
    /// <summary>The model's sparse layers, in order.</summary>
    public static IReadOnlyList<SparseMoe> Layers(nn.Module model) => model.modules().OfType<SparseMoe>().ToList();

    /// <summary>
    /// Tells the sparse layers which tokens of the forward just run are real: <paramref name="valid"/> (B, T), true (or 1)
    /// on real tokens, false on padding. The balancing losses of that forward then count real tokens only. Call it after
    /// the forward and before <see cref="AuxiliaryLoss"/>; a later forward forgets it.
    /// </summary>
    public static void MarkPadding(nn.Module model, Tensor valid)
    {
        foreach (var l in Layers(model))
        {
            if (l.LastScores is null) continue;
            if (valid.shape.Length != 2 || valid.shape[0] != l.LastShape.Batch || valid.shape[1] != l.LastShape.Time)
                throw new ArgumentException($"token mask of shape ({string.Join(", ", valid.shape)}) for a forward of ({l.LastShape.Batch}, {l.LastShape.Time}) tokens", nameof(valid));
            l.LastTokenMask = valid.to(ScalarType.Bool);
        }
    }

    /// <summary>
    /// The auxiliary loss to add to the training loss after a forward with gradients, already multiplied by its
    /// coefficient: Qwen3-MoE's Switch loss × router_aux_loss_coef (when output_router_logits), DeepSeek-V3's sequence-wise
    /// loss × <paramref name="sequenceAlpha"/>. Padding marked by <see cref="MarkPadding"/> does not count. Null when the model
    /// has no sparse layer or the term is off.
    /// </summary>
    /// <remarks>
    /// Gradient accumulation: a micro-batch's term is the term of its own tokens; the trainer multiplies it by the
    /// micro-batch's share of the step's sequences (OptimizerStep.Backward). For DeepSeek-V3's sequence-wise loss, a mean of
    /// per-sequence terms, that sum equals the full batch's loss exactly. The Switch loss (a product of two means over all
    /// tokens) is not a sum over micro-batches; the share-weighted sum is the mean of the micro-batches' losses, what
    /// transformers computes under gradient accumulation too, and equals the full-batch value when the micro-batches route alike.
    /// </remarks>
    public static Tensor? AuxiliaryLoss(nn.Module model, double sequenceAlpha = 1e-4)
    {
        var layers = Layers(model).Where(l => l.LastScores is not null).ToList();
        if (layers.Count == 0) return null;
        var s = layers[0].Settings;
        if (s.Router == RouterKind.Softmax)
        {
            if (!s.OutputRouterLogits || s.RouterAuxLossCoef == 0) return null;
            var logits = cat(layers.Select(l => l.LastScores!).ToList(), 0);
            var mask = layers[0].LastTokenMask is null ? null : cat(layers.Select(l => l.LastTokenMask!.reshape(-1)).ToList(), 0);
            return SwitchLoss(logits, s.NumExperts, s.TopK, mask) * s.RouterAuxLossCoef;
        }
        if (sequenceAlpha == 0) return null;
        Tensor? total = null;
        foreach (var l in layers)
        {
            var term = SequenceLoss(l.LastScores!, l.LastExperts!, l.LastShape.Batch, l.LastShape.Time, s.NumExperts, s.TopK, l.LastTokenMask);
            total = total is null ? term : total + term;
        }
        return total! * sequenceAlpha;
    }

    /// <summary>
    /// transformers' load_balancing_loss_func: E · Σ_{k,i} f_{k,i} · P_i over the rows of <paramref name="logits"/> (N, E), with
    /// f_{k,i} the fraction of rows whose k-th choice is i and P_i the mean probability of i — both over the rows where
    /// <paramref name="mask"/> (N) is true when given (transformers' attention_mask), else over all rows.
    /// </summary>
    public static Tensor SwitchLoss(Tensor logits, int experts, int topK, Tensor? mask = null)
    {
        var probs = nn.functional.softmax(logits, -1);
        var selected = probs.topk(topK, dim: -1).indexes;
        var chosen = nn.functional.one_hot(selected, experts).to(ScalarType.Float32); // (N, k, E)
        if (mask is null)
            return (chosen.mean([0]) * probs.mean([0]).unsqueeze(0)).sum() * experts;
        var m = mask.to(ScalarType.Float32);
        var real = m.sum().clamp_min(1);
        var tokensPerExpert = (chosen * m.view(-1, 1, 1)).sum([0]) / real;                // (k, E)
        var probPerExpert = (probs * m.unsqueeze(1)).sum([0]) / real;                      // (E)
        return (tokensPerExpert * probPerExpert.unsqueeze(0)).sum() * experts;
    }

    /// <summary><see cref="AuxiliaryLoss"/>, then forgets the last forward's router outputs (so a later step never reads them).</summary>
    public static Tensor? TakeAuxiliaryLoss(nn.Module model, double sequenceAlpha)
    {
        var loss = AuxiliaryLoss(model, sequenceAlpha);
        foreach (var layer in Layers(model)) layer.ForgetScores();
        return loss;
    }

    /// <summary>
    /// DeepSeek-V3's sequence-wise balance loss (without α), averaged over the B sequences: per sequence of T real tokens,
    /// Σ_i f_i P_i with f_i = E/(k·T) · (its tokens sent to i) and P_i = the mean over its tokens of s_{t,i} / Σ_j s_{t,j}.
    /// With <paramref name="mask"/> (B, T) only the true tokens count (T = their number), and a sequence without any is left
    /// out of the mean.
    /// </summary>
    public static Tensor SequenceLoss(Tensor scores, Tensor chosen, long batch, long time, int experts, int topK, Tensor? mask = null)
    {
        var normalised = (scores / scores.sum(-1, keepdim: true)).view(batch, time, experts);
        var picked = nn.functional.one_hot(chosen, experts).to(ScalarType.Float32).sum(1).view(batch, time, experts);
        if (mask is null)
        {
            var counts = picked.sum(1);                                                               // (B, E)
            var f = counts * ((double)experts / (topK * time));
            return (f * normalised.mean([1])).sum(-1).mean();
        }
        var m = mask.to(ScalarType.Float32).view(batch, time, 1);
        var real = m.sum(1);                                                                          // (B, 1)
        var p = (normalised * m).sum(1) / real.clamp_min(1);                                          // (B, E)
        var fm = (picked * m).sum(1) * experts / (real.clamp_min(1) * topK);                          // (B, E)
        var perSequence = (fm * p).sum(-1);                                                           // (B)
        var has = (real.squeeze(1) > 0).to(ScalarType.Float32);
        return (perSequence * has).sum() / has.sum().clamp_min(1);
    }

    /// <summary>
    /// DeepSeek-V3's auxiliary-loss-free update: for each sparse layer, bias_i −= γ · sign(load_i − mean load), with the load
    /// counted by <paramref name="counted"/>'s training forwards since the last update, applied to the matching layers of
    /// <paramref name="target"/> (the same model, or its float32 master). Returns each layer's max/mean load ratio.
    /// </summary>
    public static double[] UpdateBiases(nn.Module counted, nn.Module target, double gamma)
    {
        var from = Layers(counted);
        var to = Layers(target);
        var ratios = new double[from.Count];
        using var noGrad = no_grad();
        for (int i = 0; i < from.Count; i++)
        {
            var load = from[i].TakePendingLoad();
            double mean = load.Average();
            ratios[i] = mean > 0 ? load.Max() / mean : 0;
            if (to[i].gate.e_score_correction_bias is not { } bias || mean == 0 || gamma == 0) continue;
            var sign = load.Select(l => (float)Math.Sign(l - mean)).ToArray();
            bias.sub_(tensor(sign, device: bias.device).to(bias.dtype) * gamma);
        }
        return ratios;
    }

    /// <summary>Max / mean tokens per expert of the last forward, per sparse layer (1 = perfectly balanced).</summary>
    public static double[] LastLoadRatios(nn.Module model) =>
        Layers(model).Select(l => l.LastLoad.Length == 0 || l.LastLoad.Average() == 0 ? 0 : l.LastLoad.Max() / l.LastLoad.Average()).ToArray();
}
