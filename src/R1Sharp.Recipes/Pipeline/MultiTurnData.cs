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
        return WithHistory(pairs, i => turns[i].Question, usable, j => (turns[j].Question!, turns[j].Reply),
            (pair, prompt) => (prompt, pair.Completion), o, new DeterministicRandom(seed, "multi-turn-sft"));
    }

    /// <summary>
    /// RL prompts with a share given earlier turns: other training problems (their <c>question</c>, and the summary of
    /// their <c>answer</c> in their <c>language</c>). Examples whose prompt is not a plain single-turn one stay as they are.
    /// </summary>
    public static List<TaskExample> Rl(IReadOnlyList<TaskExample> examples, MultiTurnOptions o, long seed)
    {
        var usable = Enumerable.Range(0, examples.Count)
            .Where(i => examples[i].Field("answer") is { } a && int.TryParse(a, out _) && examples[i].Field("language") is not null).ToList();
        return WithHistory(examples, i => Question(examples[i].Prompt) is null ? null : examples[i].Question, usable,
            j => (examples[j].Question, ArithmeticText.Summary(int.Parse(examples[j].Field("answer")!, System.Globalization.CultureInfo.InvariantCulture), examples[j].Field("language")!)),
            (e, prompt) => e with { Prompt = prompt }, o, new DeterministicRandom(seed, "multi-turn-rl"));
    }

    /// <summary>
    /// Each item whose <paramref name="question"/> is not null asked, with probability <see cref="MultiTurnOptions.Share"/>,
    /// after 1 to MaxTurns − 1 earlier turns — <paramref name="turn"/> of other <paramref name="usable"/> items — in the plain
    /// transcript layout; <paramref name="ask"/> makes the item with that prompt. The other items stay as they are.
    /// </summary>
    static List<T> WithHistory<T>(IReadOnlyList<T> items, Func<int, string?> question, List<int> usable, Func<int, (string Question, string Reply)> turn,
        Func<T, string, T> ask, MultiTurnOptions o, DeterministicRandom rng)
    {
        var result = new List<T>(items.Count);
        for (int i = 0; i < items.Count; i++)
        {
            if (question(i) is not { } asked || o.MaxTurns < 2 || usable.Count < 2 || !rng.Chance(o.Share))
            {
                result.Add(items[i]);
                continue;
            }
            int earlier = rng.Next(1, o.MaxTurns - 1);
            var history = Enumerable.Range(0, earlier).Select(_ => turn(Other(usable, i, rng)));
            result.Add(ask(items[i], EmbeddedTask.ConversationPrompt(history, asked)));
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
