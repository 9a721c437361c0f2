// r1sharp distill --student runs/student-base/model --data runs/rejection-sampling/data.jsonl --output runs/distill [--teacher runs/sft/model]
//
// Distillation, DeepSeek-R1 stage 6 (paper §4, "Distillation"): supervised fine-tuning of a smaller student
// on the teacher's samples (R1: the 800k stage-4 samples, 2–3 epochs, no RL). The student minimises, over the completion
// tokens of each example (m = 1 there, N = Σ m over the optimiser step),
//     L(θ) = (1/N) Σ_t m_t [(1 − α)·(−log p_θ(x_t | x_<t)) + α·τ²·KL(p_T^τ(· | x_<t) ‖ p_θ^τ(· | x_<t))],
//     p^τ = softmax(z / τ),
// where α = KlWeight. α = 0 (the default) is exactly R1's recipe: plain SFT on the teacher's text, for which the teacher's
// model is not needed at all. α > 0 adds logit distillation (Hinton et al. 2015, forward KL, τ² scaling — see
// DistillationLoss), which needs the teacher's next-token distribution over the *same* vocabulary: the teacher's and the
// student's tokenizers must agree on every token id, or the recipe refuses with the first difference.
// Deliberate choices:
//  - Everything else (packing, accumulation, schedule, checkpoints, --resume, bf16) is SftRecipe's; this file only adds the
//    teacher's term through SftRecipe's ISftLossTerm hook.
//  - A checkpoint's embedding may have more rows than its tokenizer has tokens (Qwen2.5 0.5B: 151,936, 7B: 152,064, one
//    tokenizer of 151,665); the KL runs over the tokenizer's ids only, each side renormalised over them.
//  - The teacher runs in the student's dtype, in eval mode, under no_grad, on the same packed micro-batch.
//  - Memory: the term holds the teacher's and the student's (N, V) logits of a micro-batch at once (N target tokens); with a
//    150k vocabulary, keep BatchSize × MaxLength modest (e.g. 4 × 2048 → ~5 GB of float32 logits per side).
using System.ComponentModel.DataAnnotations;
using R1Sharp.Data;
using R1Sharp.Model;
using R1Sharp.Recipes.Config;
using R1Sharp.Recipes.Sft;
using R1Sharp.Text.Tokenization;
using R1Sharp.Training.Batching;
using R1Sharp.Training.Losses;
using R1Sharp.Training.Runs;
using static TorchSharp.torch;

namespace R1Sharp.Recipes.Distill;

public sealed record DistillOptions
{
    /// <summary>The student's fine-tuning (data comes from the <c>dataPath</c> argument; SftOptions' defaults: 2 epochs, lr 2e-5, packing).</summary>
    public SftOptions Sft { get; init; } = new();
    /// <summary>The teacher checkpoint, needed only for the logit term (KlWeight &gt; 0).</summary>
    public string? Teacher { get; init; }
    /// <summary>α: weight of τ²·KL(teacher ‖ student) against the cross-entropy on the teacher's text (0: plain SFT, as R1).</summary>
    [Range(0.0, 1.0)]
    public double KlWeight { get; init; }
    /// <summary>τ: both distributions are softened by it before the KL (Hinton et al. used 1–20; 1 is the model's own distribution).</summary>
    [Range(1e-3, 1000.0)]
    public double KlTemperature { get; init; } = 1.0;
}

public static class DistillRecipe
{
    /// <summary>Fine-tunes <paramref name="studentDir"/> on <paramref name="dataPath"/> (JSONL/Parquet prompt/completion rows), with the teacher's KL when KlWeight &gt; 0.</summary>
    public static SftResult Run(DistillOptions o, string studentDir, string dataPath, string output, RunSettings? settings = null)
    {
        ConfigBinder.Check(o, "distill");
        studentDir = ModelLocation.Resolve(studentDir);
        o = o with { Teacher = o.Teacher is null ? null : ModelLocation.Resolve(o.Teacher) };
        if (o.KlWeight > 0 && string.IsNullOrWhiteSpace(o.Teacher))
            throw new ConfigException([new ConfigError(null, null, "distill.teacher", $"the logit term (kl_weight {o.KlWeight}) needs a teacher checkpoint (--teacher)")]);
        settings ??= new RunSettings();
        var sft = o.Sft with { Data = dataPath };
        if (o.KlWeight == 0)
        {
            if (o.Teacher is not null) settings.Log?.Invoke($"distill: KlWeight is 0, so the teacher {o.Teacher} is not loaded (plain SFT on its samples)");
            return SftRecipe.Run(sft, studentDir, output, settings);
        }
        int vocabulary = SharedVocabulary(o.Teacher!, studentDir);
        using var teacher = Checkpoint.Load(o.Teacher!, settings.Dtype, settings.Device);
        var studentConfig = ModelConfig.Load(Path.Combine(studentDir, "config.json"));
        if (teacher.Config.VocabSize < vocabulary || studentConfig.VocabSize < vocabulary)
            throw new InvalidDataException($"distill: the tokenizer has {vocabulary} ids but the teacher's embedding has {teacher.Config.VocabSize} rows " +
                                           $"and the student's {studentConfig.VocabSize}");
        teacher.eval();
        var term = new TeacherKlTerm(teacher, o.KlWeight, o.KlTemperature, vocabulary)
        {
            Description = $"τ²·KL(teacher ‖ student) at τ {o.KlTemperature} over {vocabulary} token ids, teacher {o.Teacher} " +
                          $"({teacher.Config.ParameterCount() / 1e6:F2}M parameters)",
        };
        return SftRecipe.Run(sft, studentDir, output, settings, lossTerm: term);
    }

    /// <summary>
    /// The number of token ids the two checkpoints' tokenizers share, when they are the same tokenizer: same size and the
    /// same token string at every id (added tokens included). Otherwise an <see cref="InvalidDataException"/> naming the first difference.
    /// </summary>
    public static int SharedVocabulary(string teacherDir, string studentDir)
    {
        var teacher = HfTokenizer.Load(teacherDir);
        var student = HfTokenizer.Load(studentDir);
        string Refuse(string why) => throw new InvalidDataException(
            $"distill: logit distillation needs the teacher's and the student's tokenizers to match, but {why} " +
            $"(teacher {teacherDir}, student {studentDir}). Set kl_weight=0 to distil by SFT on the teacher's text alone, as DeepSeek-R1 does.");
        if (teacher.VocabSize != student.VocabSize)
            Refuse($"the teacher's has {teacher.VocabSize} token ids and the student's {student.VocabSize}");
        for (int id = 0; id < teacher.VocabSize; id++)
        {
            string? t = teacher.IdToToken(id), s = student.IdToToken(id);
            if (!string.Equals(t, s, StringComparison.Ordinal))
                Refuse($"id {id} is '{t ?? "(none)"}' for the teacher and '{s ?? "(none)"}' for the student");
        }
        return teacher.VocabSize;
    }
}

/// <summary>
/// τ²·KL(p_T^τ ‖ p_S^τ) at each target position of a micro-batch (<see cref="DistillationLoss.ScaledForwardKl"/>), the
/// teacher run on the same batch. Logits of both are cut to the first <paramref name="vocabulary"/> ids (the tokenizer's).
/// </summary>
public sealed class TeacherKlTerm(CausalLM teacher, double weight, double temperature, int vocabulary) : ISftLossTerm
{
    public string Name => "kl";

    public string Description { get; init; } = $"τ²·KL(teacher ‖ student) at τ {temperature}";

    public double Weight => weight;

    public Tensor PerToken(TokenBatch batch, Tensor logits)
    {
        Tensor teacherLogits;
        using (no_grad()) teacherLogits = batch.TargetLogits(teacher).narrow(-1, 0, vocabulary);   // (N, V')
        return DistillationLoss.ScaledForwardKl(logits.narrow(-1, 0, vocabulary), teacherLogits, temperature); // (N)
    }
}
