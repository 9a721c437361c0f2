using System.Data;
using System.Globalization;
using R1Sharp.Tasks.Arithmetic;

namespace R1Sharp.Tasks.Tests;

/// <summary>The pipeline's hard evaluation split and the held-out side of the general data (docs/pipeline.md).</summary>
public class HardSplitAndGeneralSplitTests
{
    /// <summary>The expression's value by System.Data's own expression evaluator (ordinary precedence), as a reference.</summary>
    static int Reference(string expression) =>
        Convert.ToInt32(new DataTable().Compute(expression.Replace('×', '*'), null), CultureInfo.InvariantCulture);

    [Fact]
    public void Hard_problems_are_four_operation_chains_whose_answers_match_an_independent_evaluator()
    {
        var hard = EmbeddedTask.Problems(ArithmeticSplit.HeldOut, 200, 0, EmbeddedTask.HardDifficulty);
        Assert.All(hard, p =>
        {
            Assert.Equal(4, p.Steps.Count);
            Assert.Equal(4, p.Expression.Count(c => c is '+' or '-' or '×'));
            Assert.Equal(Reference(p.Expression), p.Answer);
            Assert.All(p.Steps, s => Assert.InRange(s.Result, 0, EmbeddedTask.DemoDifficulty.MaxResult));
            Assert.All(p.Steps, s => Assert.InRange(s.Right, 1, 9));
        });
        Assert.Equal(["en", "fr"], hard.Select(p => p.Language).Distinct().Order());
    }

    [Fact]
    public void No_hard_chain_is_in_the_standard_split_or_any_training_data()
    {
        var hard = EmbeddedTask.Problems(ArithmeticSplit.HeldOut, 200, 0, EmbeddedTask.HardDifficulty).Select(p => p.Key).ToHashSet();
        var standard = EmbeddedTask.Problems(ArithmeticSplit.HeldOut, 200, 0, EmbeddedTask.DemoDifficulty);
        Assert.DoesNotContain(standard, p => hard.Contains(p.Key));
        Assert.All(standard, p => Assert.InRange(p.Steps.Count, 2, 3));
        // The reasoning-RL mix (2–4 operations) reaches four-operation chains, none of them held out.
        var mix = EmbeddedTask.Problems(ArithmeticSplit.Train, 3000, 1, EmbeddedTask.DemoDifficulty with { MaxOperations = 4 });
        Assert.DoesNotContain(mix, p => hard.Contains(p.Key));
        Assert.InRange(mix.Count(p => p.Steps.Count == 4) / 3000.0, 0.25, 0.42);
        // The pretraining corpus has every step of them but no chain longer than three operations.
        var corpus = EmbeddedTask.PretrainingDocuments(new PretrainingCorpusOptions(3000, Difficulty: EmbeddedTask.DemoDifficulty));
        Assert.All(corpus.Where(d => d.Problem is not null), d => Assert.InRange(d.Problem!.Steps.Count, 2, 3));
    }

    [Fact]
    public void Longer_textbook_chains_reach_four_operations_outside_the_template_only_and_leave_the_rest_of_the_corpus_as_it_was()
    {
        var hard = EmbeddedTask.Problems(ArithmeticSplit.HeldOut, 400, 0, EmbeddedTask.HardDifficulty).Select(p => p.Key).ToHashSet();
        var plain = new PretrainingCorpusOptions(4000, Difficulty: EmbeddedTask.DemoDifficulty, FactShare: 0.2, DirectShare: 0.35, WorkedShare: 0.15,
            TextbookShare: 0.25, GeneralShare: 0.05);
        var longer = EmbeddedTask.PretrainingDocuments(plain with { TextbookMaxOperations = 4 });
        var textbook = longer.Where(d => d.Kind == CorpusDocumentKind.Textbook).ToList();
        Assert.Equal(1000, textbook.Count);
        Assert.InRange(textbook.Count(d => d.Problem!.Steps.Count == 4) / 1000.0, 0.25, 0.42);
        Assert.All(textbook, d =>
        {
            Assert.DoesNotContain(d.Problem!.Key, hard);                                   // held-out chains stay out
            Assert.DoesNotContain("<think>", d.Text, StringComparison.Ordinal);           // no template: working, not the R1-Zero format
            Assert.Equal(d.Problem.Steps.Count, d.Text.Split('\n').Length - 2);           // question, one line per step, the answer
        });
        // Every other document is the same problem as without the setting (direct answers and worked examples stay 2–3).
        var before = EmbeddedTask.PretrainingDocuments(plain).Where(d => d.Kind != CorpusDocumentKind.Textbook).Select(d => d.Text).Order();
        Assert.Equal(before, longer.Where(d => d.Kind != CorpusDocumentKind.Textbook).Select(d => d.Text).Order());
        Assert.All(longer.Where(d => d.Problem is not null && d.Kind != CorpusDocumentKind.Textbook), d => Assert.InRange(d.Problem!.Steps.Count, 2, 3));
        Assert.Throws<ArgumentException>(() => EmbeddedTask.PretrainingDocuments(plain with { TextbookMaxOperations = 5 }));
    }

    [Fact]
    public void Held_out_general_prompts_never_appear_in_training_data()
    {
        var heldOutQuestions = EmbeddedTask.HeldOutGeneralTask(400).Examples.Select(e => e.Question)
            .Concat(EmbeddedTask.HeldOutPreferencePairs(800).Select(p => p.Question)).ToHashSet(StringComparer.Ordinal);
        var training = EmbeddedTask.PreferencePairs(3000).Select(p => p.Question)
            .Concat(EmbeddedTask.GeneralSftExamples(3000).Select(e => e.Question))
            .Concat(EmbeddedTask.GeneralTask(3000).Examples.Select(e => e.Question))
            .Concat(EmbeddedTask.PretrainingDocuments(new PretrainingCorpusOptions(4000, GeneralShare: 0.5, FactShare: 0.2, DirectShare: 0.1,
                WorkedShare: 0.1, TextbookShare: 0.1)).Where(d => d.Kind == CorpusDocumentKind.General).Select(d => d.Text.Split('\n')[0]))
            .ToHashSet(StringComparer.Ordinal);
        Assert.Empty(heldOutQuestions.Intersect(training));
        // Both sides are populated with every kind; the held-out pairs hold both categories.
        var pairs = EmbeddedTask.HeldOutPreferencePairs(800);
        Assert.Equal(["harmless", "helpful"], pairs.Select(p => p.Category).Distinct().Order());
        var kinds = EmbeddedTask.HeldOutGeneralTask(400).Examples.Select(e => e.Field("kind")).Distinct().Order();
        Assert.Equal(["colour", "compare", "greet", "refusal", "translate", "unknown"], kinds);
        Assert.All(EmbeddedTask.HeldOutGeneralTask(50).Examples, e => Assert.False(string.IsNullOrEmpty(e.Field("rejected"))));
    }

    [Fact]
    public void Held_out_translations_and_colours_ask_in_new_words_about_what_training_taught()
    {
        // The held-out question is new, its good reply is one the SFT data teaches: knowable, but never asked that way.
        var taught = EmbeddedTask.GeneralSftExamples(3000).ToLookup(e => e.Reference["kind"], e => e.Completion);
        var trainingQuestions = EmbeddedTask.GeneralSftExamples(3000).Select(e => e.Question).ToHashSet(StringComparer.Ordinal);
        var heldOut = EmbeddedTask.HeldOutGeneralTask(400).Examples.Where(e => e.Field("kind") is "translate" or "colour").ToList();
        Assert.Contains(heldOut, e => e.Field("kind") == "translate");
        Assert.Contains(heldOut, e => e.Field("kind") == "colour");
        Assert.All(heldOut, e =>
        {
            Assert.Contains(e.Field("response")!, taught[e.Field("kind")!]);
            Assert.DoesNotContain(e.Question, trainingQuestions);
        });
        Assert.Contains(heldOut, e => e.Question == "Dis-moi la couleur du ciel.");
        Assert.Contains(heldOut, e => e.Question == "Tell me the colour of grass.");
    }

    [Fact]
    public void Questions_outside_the_set_are_answered_gracefully_in_their_language()
    {
        var unknown = EmbeddedTask.GeneralSftExamples(800).Where(e => e.Reference["kind"] == "unknown").ToList();
        Assert.NotEmpty(unknown);
        Assert.All(unknown, e => Assert.Equal(GeneralData.GracefulReply(e.Reference["language"]), e.Completion));
        Assert.Contains("je ne sais pas", GeneralData.GracefulReply("fr"));
        Assert.Contains("I don't know", GeneralData.GracefulReply("en"));
    }
}

/// <summary>Held-out conversations for the turn 1–4 columns.</summary>
public class ConversationTests
{
    [Fact]
    public void A_conversation_prompt_is_the_plain_transcript_chat_sends()
    {
        Assert.Equal("User: Compute 7 + 8\nAssistant:", EmbeddedTask.ConversationPrompt([], "Compute 7 + 8"));
        Assert.Equal("User: Bonjour !\nAssistant: Bonjour, Tom !\nUser: Calcule 2 × 3\nAssistant: La réponse est \\boxed{6}.\nUser: Compute 7 + 8\nAssistant:",
            EmbeddedTask.ConversationPrompt([("Bonjour !", "Bonjour, Tom ! "), ("Calcule 2 × 3", "La réponse est \\boxed{6}.")], "Compute 7 + 8"));
    }

    [Fact]
    public void Turn_k_asks_the_kth_problem_after_the_earlier_ones_answered_rightly()
    {
        var turns = Enumerable.Range(1, 4).Select(k => EmbeddedTask.ConversationTurnTask(10, 4, k)).ToList();
        for (int c = 0; c < 10; c++)
        {
            var prompts = turns.Select(t => t.Examples[c].Prompt).ToList();
            for (int k = 1; k < 4; k++)
            {
                Assert.Equal(k, System.Text.RegularExpressions.Regex.Matches(prompts[k], "\nAssistant: ").Count);
                // turn k+1's history is turn k's prompt, answered
                Assert.StartsWith(prompts[k - 1], prompts[k]);
            }
            foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(prompts[3],
                         @"User: (?:Compute|Calcule) ([^\n]+)\nAssistant: (?:The answer is|La réponse est) \\boxed\{(\d+)\}\."))
                Assert.Equal(Convert.ToInt32(new DataTable().Compute(m.Groups[1].Value.Replace('×', '*'), null), CultureInfo.InvariantCulture),
                    int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
            foreach (var t in turns) // the chain key (the expression without spaces and parentheses) is held out
                Assert.Equal(ArithmeticSplit.HeldOut, ArithmeticGenerator.SplitOf(new string([.. t.Examples[c].Field("expression")!.Where(ch => ch is not (' ' or '(' or ')'))])));
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => EmbeddedTask.ConversationTurnTask(10, 4, 5));
    }
}
