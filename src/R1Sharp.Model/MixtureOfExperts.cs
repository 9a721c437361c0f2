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
// flow to the experts, the router (through w) and the hidden states.
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
//   Padding is not masked out of either loss (transformers masks it for Qwen3-MoE when given an attention mask).
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

    /// <summary>Drops the references to the last forward's router outputs.</summary>
    public void ForgetScores() => (LastScores, LastExperts) = (null, null);

    /// <summary>Returns the load counted since the last call and starts counting afresh.</summary>
    public long[] TakePendingLoad()
    {
        var load = (long[])pendingLoad.Clone();
        Array.Clear(pendingLoad);
        return load;
    }

    public override Tensor forward(Tensor x) // (B, T, C) -> (B, T, C)
    {
        long b = x.shape[0], t = x.shape[1], c = x.shape[2], k = s.TopK;
        var h = x.reshape(b * t, c);
        var (chosen, weights, scores) = gate.Route(h);

        // Sort the N·k (token, expert) pairs by expert: pair p is token p / k.
        var flat = chosen.reshape(-1);
        var (_, order) = flat.sort(stable: true);
        var tokens = order.div(k, rounding_mode: RoundingMode.floor);
        var load = bincount(flat, minlength: s.NumExperts).to(ScalarType.Int64).cpu().data<long>().ToArray();
        LastLoad = load;
        if (is_grad_enabled())
        {
            for (int i = 0; i < load.Length; i++) pendingLoad[i] += load[i];
            (LastScores, LastExperts, LastShape) = (scores, chosen, (b, t));
        }

        var gathered = h.index_select(0, tokens);                    // (N·k, C), grouped by expert
        var outputs = new List<Tensor>(s.NumExperts);
        long start = 0;
        for (int i = 0; i < s.NumExperts; i++)
        {
            if (load[i] == 0) continue;
            outputs.Add(experts[i].forward(gathered.narrow(0, start, load[i])));
            start += load[i];
        }
        // Weighted and summed in the weights' dtype (float32 for DeepSeek-V3, the model's for Qwen3-MoE), as transformers does.
        var w = weights.reshape(-1).index_select(0, order).unsqueeze(-1);
        var weighted = cat(outputs, 0).to(w.dtype) * w;
        var y = zeros(b * t, c, dtype: w.dtype, device: x.device).index_add(0, tokens, weighted, 1.0).to(x.dtype);
        if (shared_experts is not null) y = y + shared_experts.forward(h);
        return y.view(b, t, c);
    }
}

/// <summary>The balancing terms and statistics of a model's sparse layers.</summary>
public static class ExpertBalance
{
    /// <summary>The model's sparse layers, in order.</summary>
    public static IReadOnlyList<SparseMoe> Layers(nn.Module model) => model.modules().OfType<SparseMoe>().ToList();

    /// <summary>
    /// The auxiliary loss to add to the training loss after a forward with gradients, already multiplied by its
    /// coefficient: Qwen3-MoE's Switch loss × router_aux_loss_coef (when output_router_logits), DeepSeek-V3's sequence-wise
    /// loss × <paramref name="sequenceAlpha"/>. Null when the model has no sparse layer or the term is off.
    /// </summary>
    public static Tensor? AuxiliaryLoss(nn.Module model, double sequenceAlpha = 1e-4)
    {
        var layers = Layers(model).Where(l => l.LastScores is not null).ToList();
        if (layers.Count == 0) return null;
        var s = layers[0].Settings;
        if (s.Router == RouterKind.Softmax)
        {
            if (!s.OutputRouterLogits || s.RouterAuxLossCoef == 0) return null;
            return SwitchLoss(cat(layers.Select(l => l.LastScores!).ToList(), 0), s.NumExperts, s.TopK) * s.RouterAuxLossCoef;
        }
        if (sequenceAlpha == 0) return null;
        Tensor? total = null;
        foreach (var l in layers)
        {
            var term = SequenceLoss(l.LastScores!, l.LastExperts!, l.LastShape.Batch, l.LastShape.Time, s.NumExperts, s.TopK);
            total = total is null ? term : total + term;
        }
        return total! * sequenceAlpha;
    }

    /// <summary>transformers' load_balancing_loss_func without a mask: E · Σ_{k,i} f_{k,i} · P_i over the rows of <paramref name="logits"/>.</summary>
    public static Tensor SwitchLoss(Tensor logits, int experts, int topK)
    {
        var probs = nn.functional.softmax(logits, -1);
        var selected = probs.topk(topK, dim: -1).indexes;
        var mask = nn.functional.one_hot(selected, experts).to(ScalarType.Float32); // (N, k, E)
        var tokensPerExpert = mask.mean([0]);                                       // (k, E)
        var probPerExpert = probs.mean([0]);                                        // (E)
        return (tokensPerExpert * probPerExpert.unsqueeze(0)).sum() * experts;
    }

    /// <summary><see cref="AuxiliaryLoss"/>, then forgets the last forward's router outputs (so a later step never reads them).</summary>
    public static Tensor? TakeAuxiliaryLoss(nn.Module model, double sequenceAlpha)
    {
        var loss = AuxiliaryLoss(model, sequenceAlpha);
        foreach (var layer in Layers(model)) layer.ForgetScores();
        return loss;
    }

    /// <summary>DeepSeek-V3's sequence-wise balance loss (without α), averaged over the B sequences.</summary>
    public static Tensor SequenceLoss(Tensor scores, Tensor chosen, long batch, long time, int experts, int topK)
    {
        var normalised = (scores / scores.sum(-1, keepdim: true)).view(batch, time, experts);
        var p = normalised.mean([1]);                                                           // (B, E)
        var counts = nn.functional.one_hot(chosen, experts).to(ScalarType.Float32).sum(1).view(batch, time, experts).sum(1); // (B, E)
        var f = counts * ((double)experts / (topK * time));
        return (f * p).sum(-1).mean();
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
