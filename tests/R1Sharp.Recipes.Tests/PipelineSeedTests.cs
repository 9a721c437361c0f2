using System.Text.RegularExpressions;
using R1Sharp.Recipes.Config;
using R1Sharp.Recipes.Pipeline;

namespace R1Sharp.Recipes.Tests;

/// <summary>The pipeline's <c>seed</c>: every training stage's own seed moves by it, the evaluation's do not.</summary>
public class PipelineSeedTests
{
    /// <summary>Each <c>seed:</c> line of the options' YAML with the section path above it ("final_rl.grpo.seed").</summary>
    static Dictionary<string, long> Seeds(PipelineOptions o)
    {
        var seeds = new Dictionary<string, long>();
        var path = new List<(int Indent, string Key)>();
        foreach (var line in ConfigBinder.ToYaml(o).Split('\n'))
        {
            var m = Regex.Match(line, @"^( *)([a-z0-9_]+):(.*)$");
            if (!m.Success) continue;
            int indent = m.Groups[1].Length;
            path.RemoveAll(p => p.Indent >= indent);
            string key = string.Join('.', path.Select(p => p.Key).Append(m.Groups[2].Value));
            if (m.Groups[2].Value == "seed" && long.TryParse(m.Groups[3].Value.Trim(), out long value)) seeds[key] = value;
            path.Add((indent, m.Groups[2].Value));
        }
        return seeds;
    }

    [Fact]
    public void Seed_moves_every_training_stages_seed_and_leaves_the_evaluation_as_it_is()
    {
        var o = new PipelineOptions();
        Assert.Same(o, o.Reseeded());
        var before = Seeds(o);
        var after = Seeds((o with { Seed = 10 }).Reseeded());
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        Assert.Contains("seed", before.Keys);                          // the pipeline's own, 0 in both (what the run records)
        Assert.Equal(0, after["seed"]);
        var training = before.Keys.Where(k => k != "seed" && !k.StartsWith("eval.", StringComparison.Ordinal) && !Regex.IsMatch(k, @"(^|\.)(eval_)?sampling\.seed$")).ToList();
        Assert.Contains("base.seed", training);
        Assert.Contains("final_rl.reward_model.seed", training);
        Assert.Contains("distill.student.sft.seed", training);
        Assert.Contains("rejection_sampling.seed", training);
        Assert.True(training.Count == 11, string.Join(", ", training));
        Assert.All(training, k => Assert.Equal(before[k] + 10, after[k]));
        Assert.All(before.Keys.Except(training).Where(k => k != "seed"), k => Assert.Equal(before[k], after[k]));
        Assert.Contains(before.Keys, k => k.StartsWith("eval.", StringComparison.Ordinal));
    }
}
