using R1Sharp.Rewards;
using R1Sharp.Rewards.Rules;

namespace R1Sharp.Recipes.Common;

/// <summary>Checks that catch a reward that cannot do its job before a run trains or filters on it.</summary>
public static class RewardChecks
{
    /// <summary>
    /// Throws when a reward that reads reference fields (<see cref="IReadsReferenceFields"/>: accuracy's gold answer) judged
    /// none of the first batch's completions: the run would otherwise train on the other rewards alone (e.g. open-r1's
    /// <c>{"problem", "solution"}</c> rows have no <c>answer</c>). The message names the missing field, the fields the rows
    /// have, and how to map one.
    /// </summary>
    public static void RequireJudgements(WeightedRewards rewards, IReadOnlyList<RewardBreakdown> scores, IReadOnlyList<RewardInput> inputs, string task)
    {
        if (inputs.Count == 0) return;
        foreach (var (reward, _) in rewards.Rewards)
        {
            if (reward is not IReadsReferenceFields { ReferenceFields.Count: > 0 } reader) continue;
            if (scores.Any(s => s.Components.GetValueOrDefault(reward.Name) is not null)) continue;
            var present = inputs.SelectMany(i => i.Reference.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
            var missing = reader.ReferenceFields.Where(f => inputs.All(i => string.IsNullOrWhiteSpace(i.Field(f)))).ToList();
            string why = missing.Count > 0
                ? $"the rows of task '{task}' have no field {string.Join(", ", missing.Select(f => $"'{f}'"))} " +
                  $"(they have: {(present.Count == 0 ? "no reference fields" : string.Join(", ", present))})"
                : $"its grader could not judge the gold field{(reader.ReferenceFields.Count > 1 ? "s" : "")} {string.Join(", ", reader.ReferenceFields.Select(f => $"'{f}'"))} of any row";
            throw new InvalidDataException(
                $"reward '{reward.Name}' could not judge any of the {inputs.Count} completions of the first batch: {why}. " +
                "Training on the other rewards alone would be silently wrong. Map the column that holds the gold answer with the " +
                $"reward's option, e.g. rewards: [{{name: {reward.Name}, options: {{gold_field: <column>}}}}], or name that column " +
                $"'{reader.ReferenceFields[0]}' in the data.");
        }
    }
}
