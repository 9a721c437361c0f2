using System.ComponentModel.DataAnnotations;
using R1Sharp.Data;
using R1Sharp.Recipes.RewardModel;
using R1Sharp.Tasks;
using R1Sharp.Tasks.Arithmetic;

namespace R1Sharp.Recipes.Pipeline;

/// <summary>How much of the SFT and final-RL data is multi-turn (the <c>multi_turn</c> section of a pipeline config).</summary>
public sealed record MultiTurnOptions
{
    /// <summary>Share of SFT examples and final-RL reasoning prompts given earlier turns; 0: single-turn data only.</summary>
    [Range(0.0, 1.0)]
    public double Share { get; init; } = 0.5;
    /// <summary>Most turns in a conversation, the asked one included (the earlier ones: 1 to MaxTurns − 1).</summary>
    [Range(1, 16)]
    public int MaxTurns { get; init; } = 4;
}

/// <summary>
/// Multi-turn training data: a share of the examples are asked after 1 to <see cref="MultiTurnOptions.MaxTurns"/>−1
/// earlier turns, each another example's question with its reply as <c>r1sharp chat</c> keeps it (the summary after
/// <c>&lt;/think&gt;</c>), in the plain transcript layout (<see cref="EmbeddedTask.ConversationPrompt"/>). The asked
/// question and its completion are unchanged, so the model learns that a conversation's k-th question is answered like
/// its first.
/// </summary>
public static class MultiTurnData
{
    /// <summary>The question of a plain single-turn prompt (<c>User: {q}\nAssistant:</c>); null for any other layout.</summary>
    public static string? Question(string prompt)
    {
        const string user = "User: ", assistant = "\nAssistant:";
        if (!prompt.StartsWith(user, StringComparison.Ordinal) || !prompt.EndsWith(assistant, StringComparison.Ordinal)) return null;
        string q = prompt[user.Length..^assistant.Length];
        return q.Contains("\nUser:", StringComparison.Ordinal) || q.Contains("\nAssistant:", StringComparison.Ordinal) ? null : q;
    }

    /// <summary>SFT pairs with a share given earlier turns drawn from the other pairs (their question and reply summary).</summary>
    public static List<(string Prompt, string Completion)> Sft(IReadOnlyList<(string Prompt, string Completion)> pairs, MultiTurnOptions o, long seed)
    {
        var turns = pairs.Select(p => (Question: Question(p.Prompt), Reply: RewardModelReward.Summary(p.Completion).Trim())).ToList();
        var usable = Enumerable.Range(0, pairs.Count).Where(i => turns[i].Question is not null && turns[i].Reply.Length > 0).ToList();
        var rng = new DeterministicRandom(seed, "multi-turn-sft");
        var result = new List<(string, string)>(pairs.Count);
        for (int i = 0; i < pairs.Count; i++)
        {
            if (turns[i].Question is not { } question || o.MaxTurns < 2 || usable.Count < 2 || !rng.Chance(o.Share))
            {
                result.Add(pairs[i]);
                continue;
            }
            int earlier = rng.Next(1, o.MaxTurns - 1);
            var history = Enumerable.Range(0, earlier).Select(_ => Other(usable, i, rng)).Select(j => (turns[j].Question!, turns[j].Reply));
            result.Add((EmbeddedTask.ConversationPrompt(history, question), pairs[i].Completion));
        }
        return result;
    }

    /// <summary>
    /// RL prompts with a share given earlier turns: other training problems (their <c>question</c>, and the summary of
    /// their <c>answer</c> in their <c>language</c>). Examples whose prompt is not a plain single-turn one stay as they are.
    /// </summary>
    public static List<TaskExample> Rl(IReadOnlyList<TaskExample> examples, MultiTurnOptions o, long seed)
    {
        var usable = Enumerable.Range(0, examples.Count)
            .Where(i => examples[i].Field("answer") is { } a && int.TryParse(a, out _) && examples[i].Field("language") is not null).ToList();
        var rng = new DeterministicRandom(seed, "multi-turn-rl");
        var result = new List<TaskExample>(examples.Count);
        for (int i = 0; i < examples.Count; i++)
        {
            var e = examples[i];
            if (Question(e.Prompt) is null || o.MaxTurns < 2 || usable.Count < 2 || !rng.Chance(o.Share))
            {
                result.Add(e);
                continue;
            }
            int earlier = rng.Next(1, o.MaxTurns - 1);
            var history = Enumerable.Range(0, earlier).Select(_ => examples[Other(usable, i, rng)])
                .Select(x => (x.Question, ArithmeticText.Summary(int.Parse(x.Field("answer")!, System.Globalization.CultureInfo.InvariantCulture), x.Field("language")!)));
            result.Add(e with { Prompt = EmbeddedTask.ConversationPrompt(history, e.Question) });
        }
        return result;
    }

    static int Other(List<int> usable, int self, DeterministicRandom rng)
    {
        while (true)
        {
            int j = rng.Pick(usable);
            if (j != self) return j;
        }
    }
}
