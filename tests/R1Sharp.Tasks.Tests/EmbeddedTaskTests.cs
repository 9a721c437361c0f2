using System.Globalization;
using System.Text.RegularExpressions;
using R1Sharp.Data;
using R1Sharp.Rewards;
using R1Sharp.Rewards.Rules;
using R1Sharp.Tasks;
using R1Sharp.Tasks.Arithmetic;

namespace R1Sharp.Tasks.Tests;

public class EmbeddedTaskTests
{
    private static readonly Regex StepPattern = new(@"(\d+) ([+\-×]) (\d+) = (\d+)");

    [Fact]
    public void Generation_is_deterministic_and_seed_dependent()
    {
        var a = EmbeddedTask.Problems(ArithmeticSplit.Train, 300, seed: 11);
        var b = EmbeddedTask.Problems(ArithmeticSplit.Train, 300, seed: 11);
        Assert.Equal(a, b, (x, y) => x.Id == y.Id && x.Question == y.Question && x.Answer == y.Answer && x.WorkedSolution == y.WorkedSolution);
        var c = EmbeddedTask.Problems(ArithmeticSplit.Train, 300, seed: 12);
        Assert.NotEqual(a.Select(p => p.Question), c.Select(p => p.Question));
        Assert.Equal(300, a.Select(p => p.Key).Distinct().Count());
        Assert.Equal(EmbeddedTask.PretrainingCorpus(new PretrainingCorpusOptions(500, Seed: 4)), EmbeddedTask.PretrainingCorpus(new PretrainingCorpusOptions(500, Seed: 4)));
    }

    [Fact]
    public void Held_out_chains_never_appear_in_training_data()
    {
        var heldOut = EmbeddedTask.Problems(ArithmeticSplit.HeldOut, 500, seed: 0).Select(p => p.Key).ToHashSet();
        foreach (int seed in new[] { 0, 1, 2 })
            Assert.DoesNotContain(EmbeddedTask.Problems(ArithmeticSplit.Train, 2000, seed), p => heldOut.Contains(p.Key));
        var corpus = EmbeddedTask.PretrainingDocuments(new PretrainingCorpusOptions(3000));
        Assert.DoesNotContain(corpus, d => d.Problem is not null && heldOut.Contains(d.Problem.Key));
        var eval = EmbeddedTask.EvalTask(200).Examples.Select(e => e.Id).ToHashSet();
        Assert.DoesNotContain(EmbeddedTask.RlTask(2000).Examples, e => eval.Contains(e.Id));
        Assert.All(EmbeddedTask.ColdStartExamples(1000), e => Assert.StartsWith("arith-train-", e.Id));
        // The partition is a fixed fraction of the chain space (10 %).
        var all = EmbeddedTask.Problems(ArithmeticSplit.Train, 1000, 9).Concat(EmbeddedTask.Problems(ArithmeticSplit.HeldOut, 100, 9));
        Assert.All(all, p => Assert.Equal(p.Id.Contains("heldout") ? ArithmeticSplit.HeldOut : ArithmeticSplit.Train, ArithmeticGenerator.SplitOf(p.Key)));
    }

    [Fact]
    public void Every_worked_solution_is_arithmetically_right_and_ends_at_the_gold()
    {
        var difficulty = new ArithmeticDifficulty(MinOperations: 1, MaxOperations: 4, MaxOperand: 99, MaxResult: 999, MaxFactor: 9);
        foreach (var p in EmbeddedTask.Problems(ArithmeticSplit.Train, 1500, 3, difficulty).Concat(EmbeddedTask.Problems(ArithmeticSplit.HeldOut, 300, 3, difficulty)))
        {
            // Parse the text itself: one line per step, then the conclusion.
            string[] lines = p.WorkedSolution.Split('\n');
            Assert.Equal(p.Steps.Count + 1, lines.Length);
            int? running = null;
            for (int i = 0; i < p.Steps.Count; i++)
            {
                var m = StepPattern.Match(lines[i]);
                Assert.True(m.Success, lines[i]);
                int left = int.Parse(m.Groups[1].Value), right = int.Parse(m.Groups[3].Value), result = int.Parse(m.Groups[4].Value);
                int expected = m.Groups[2].Value switch { "+" => left + right, "-" => left - right, _ => left * right };
                Assert.Equal(expected, result);
                if (running is not null) Assert.Equal(running, left);
                running = result;
            }
            Assert.Equal(p.Answer, running);
            Assert.Contains(p.Answer.ToString(), lines[^1]);
            Assert.InRange(p.Answer, 0, 999);
            // The expression, read with ordinary precedence, has the same value.
            Assert.True(ArithmeticExpression.TryEvaluate(p.Expression.Replace('×', '*'), out var value), p.Expression);
            Assert.Equal(Fraction.FromInteger(p.Answer), value);
        }
    }

    [Theory]
    [InlineData(1, 1, false, WordingStyle.Expression, 0.0)]
    [InlineData(4, 4, true, WordingStyle.WordProblem, 1.0)]
    [InlineData(2, 3, true, WordingStyle.Mixed, 0.5)]
    public void Difficulty_settings_are_honoured(int minOps, int maxOps, bool multiply, WordingStyle wording, double french)
    {
        var d = new ArithmeticDifficulty(minOps, maxOps, MinOperand: 5, MaxOperand: 20, Multiplication: multiply, MaxFactor: 3, MaxResult: 60, Wording: wording, FrenchShare: french);
        var problems = EmbeddedTask.Problems(ArithmeticSplit.Train, 200, 1, d);
        foreach (var p in problems)
        {
            Assert.InRange(p.Steps.Count, minOps, maxOps);
            Assert.InRange(p.Steps[0].Left, 5, 20);
            foreach (var s in p.Steps)
            {
                Assert.InRange(s.Result, 0, 60);
                if (s.Operator == ArithmeticOperator.Multiply) Assert.InRange(s.Right, 2, 3);
                else Assert.InRange(s.Right, 5, 20);
            }
            if (!multiply) Assert.DoesNotContain(p.Steps, s => s.Operator == ArithmeticOperator.Multiply);
            if (wording != WordingStyle.Mixed) Assert.Equal(wording, p.Wording);
        }
        double frShare = problems.Count(p => p.Language == "fr") / (double)problems.Count;
        Assert.InRange(frShare, french - 0.1, french + 0.1);
        if (wording == WordingStyle.Mixed) Assert.Contains(problems, p => p.Wording == WordingStyle.Expression);
        if (wording == WordingStyle.Mixed) Assert.Contains(problems, p => p.Wording == WordingStyle.WordProblem);
    }

    [Fact]
    public void Impossible_difficulty_is_a_clear_error()
    {
        Assert.Throws<ArgumentException>(() => EmbeddedTask.Problems(ArithmeticSplit.Train, 1, 0, new ArithmeticDifficulty(MinOperations: 5, MaxOperations: 5)));
        var tiny = new ArithmeticDifficulty(1, 1, MinOperand: 1, MaxOperand: 2, Multiplication: false, MaxResult: 3);
        Assert.Contains("distinct", Assert.Throws<InvalidOperationException>(() => EmbeddedTask.Problems(ArithmeticSplit.Train, 100, 0, tiny)).Message);
    }

    [Fact]
    public void Word_problems_mention_the_operands_in_order()
    {
        foreach (var p in EmbeddedTask.Problems(ArithmeticSplit.Train, 300, 2, new ArithmeticDifficulty(Wording: WordingStyle.WordProblem)))
        {
            var numbers = Regex.Matches(p.Question, @"\d+").Select(m => int.Parse(m.Value)).ToList();
            Assert.Equal([p.Steps[0].Left, .. p.Steps.Select(s => s.Right)], numbers);
            Assert.EndsWith(p.Language == "fr" ? "maintenant ?" : "now?", p.Question);
        }
    }

    [Fact]
    public void Rl_prompts_use_the_verbatim_template_and_carry_references()
    {
        var task = EmbeddedTask.RlTask(50);
        foreach (var e in task.Examples)
        {
            Assert.Equal(PromptTemplates.R1Zero.Replace("{prompt}", e.Question), e.Prompt);
            Assert.Contains(e.Field("language"), new[] { "en", "fr" });
            Assert.True(int.TryParse(e.Field("answer"), out _));
        }
        Assert.Equal(["accuracy", "r1_zero_format"], task.Rewards.Select(r => r.Name));
        Assert.Equal(["accuracy", "cold_start_format", "language"], EmbeddedTask.RlTask(5, style: PromptStyle.Plain).Rewards.Select(r => r.Name));
    }

    [Fact]
    public void Cold_start_examples_are_readable_correct_and_in_one_language()
    {
        var format = new FormatReward(FormatPattern.ColdStart);
        var language = new LanguageConsistencyReward();
        var examples = EmbeddedTask.ColdStartExamples(300);
        Assert.Contains(examples, e => e.Reference["language"] == "en");
        Assert.Contains(examples, e => e.Reference["language"] == "fr");
        foreach (var e in examples)
        {
            var input = new RewardInput(e.Prompt, e.Completion, e.Reference);
            Assert.Equal(1.0, format.Score([input])[0]);
            Assert.Equal(1.0, language.Score([input])[0]);
            Assert.True(EmbeddedTask.Grade(e.Reference["answer"], e.Completion));
            Assert.Equal(PromptTemplates.RenderPlain(e.Question), e.Prompt);
        }
    }

    [Fact]
    public void Corpus_shares_match_the_parameters()
    {
        var options = new PretrainingCorpusOptions(Documents: 4000, Seed: 2, FactShare: 0.5, DirectShare: 0.4, WorkedShare: 0.1,
            WrongDirectShare: 0.25, R1ZeroShareOfDirect: 0.75, MixedLanguageShare: 0.2);
        var docs = EmbeddedTask.PretrainingDocuments(options);
        Assert.Equal(4000, docs.Count);
        var direct = docs.Where(d => d.Kind == CorpusDocumentKind.DirectAnswer).ToList();
        var worked = docs.Where(d => d.Kind == CorpusDocumentKind.WorkedExample).ToList();
        Assert.Equal(2000, docs.Count(d => d.Kind == CorpusDocumentKind.Facts));
        Assert.Equal(1600, direct.Count);
        Assert.Equal(400, worked.Count);
        Assert.Equal(400, direct.Count(d => d.IsWrong));
        Assert.Equal(1200, direct.Count(d => d.R1ZeroFormat));
        Assert.Equal(80, worked.Count(d => d.MixesLanguages));
        Assert.All(docs.Where(d => d.Kind == CorpusDocumentKind.Facts), d => Assert.Equal(8, d.Text.Split('\n').Length));
        // Shuffled, not grouped by kind.
        Assert.InRange(docs.Take(2000).Count(d => d.Kind == CorpusDocumentKind.Facts), 850, 1150);
    }

    [Fact]
    public void Corpus_documents_say_what_they_claim()
    {
        var docs = EmbeddedTask.PretrainingDocuments(new PretrainingCorpusOptions(3000, Seed: 5));
        var language = new LanguageConsistencyReward();
        var r1ZeroFormat = new FormatReward(FormatPattern.R1ZeroLoose);
        Assert.Contains(docs, d => d.Language == "en");
        Assert.Contains(docs, d => d.Language == "fr");
        foreach (var d in docs)
        {
            switch (d.Kind)
            {
                case CorpusDocumentKind.Facts:
                    foreach (Match m in StepPattern.Matches(d.Text))
                    {
                        int l = int.Parse(m.Groups[1].Value), r = int.Parse(m.Groups[3].Value), res = int.Parse(m.Groups[4].Value);
                        Assert.Equal(m.Groups[2].Value switch { "+" => l + r, "-" => l - r, _ => l * r }, res);
                    }
                    break;
                case CorpusDocumentKind.DirectAnswer:
                    string given = Regex.Match(d.Text, @"(\d+)(?: </answer>)?$").Groups[1].Value;
                    Assert.Equal(d.IsWrong, int.Parse(given) != d.Problem!.Answer);
                    if (d.R1ZeroFormat)
                    {
                        string completion = d.Text[(d.Text.IndexOf("Assistant:", StringComparison.Ordinal) + "Assistant:".Length)..];
                        Assert.Equal(1.0, r1ZeroFormat.Score([new RewardInput("", completion, new Dictionary<string, string>())])[0]);
                        Assert.True(CompletionText.ChainOfThought(completion).Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries).Length <= 1);
                    }
                    break;
                case CorpusDocumentKind.WorkedExample:
                    string worked = d.Text[(d.Text.IndexOf("Assistant:", StringComparison.Ordinal) + "Assistant:".Length)..];
                    Assert.Equal(1.0, r1ZeroFormat.Score([new RewardInput("", worked, new Dictionary<string, string>())])[0]);
                    Assert.True(EmbeddedTask.Grade(d.Problem!.Answer.ToString(), worked));
                    // The language reward sees exactly the mixing the corpus put in.
                    double? share = language.Score([new RewardInput("", worked, new Dictionary<string, string> { ["language"] = d.Language })])[0];
                    Assert.Equal(d.MixesLanguages ? 0.0 : 1.0, share);
                    break;
            }
        }
    }

    [Fact]
    public void Textbook_documents_work_the_problem_in_its_language_and_box_the_answer()
    {
        var docs = EmbeddedTask.PretrainingDocuments(new PretrainingCorpusOptions(2000, Seed: 3, FactShare: 0.25, DirectShare: 0.35,
            WorkedShare: 0.15, TextbookShare: 0.25, Difficulty: EmbeddedTask.DemoDifficulty));
        var textbook = docs.Where(d => d.Kind == CorpusDocumentKind.Textbook).ToList();
        Assert.Equal(500, textbook.Count);
        Assert.Equal(300, docs.Count(d => d.Kind == CorpusDocumentKind.WorkedExample));
        Assert.Equal(700, docs.Count(d => d.Kind == CorpusDocumentKind.DirectAnswer));
        var language = new LanguageConsistencyReward();
        foreach (var d in textbook)
        {
            var lines = d.Text.Split('\n');
            Assert.Equal(d.Problem!.Question, lines[0]);
            Assert.DoesNotContain("<think>", d.Text);
            Assert.Equal((d.Language == "fr" ? "La réponse est " : "The answer is ") + "\\boxed{" + d.Problem.Answer + "}.", lines[^1]);
            Assert.True(EmbeddedTask.Grade(d.Problem.Answer.ToString(CultureInfo.InvariantCulture), d.Text));
            // every step line is a true equation, and the working is in the problem's language
            foreach (var line in lines[1..^1])
            {
                var m = StepPattern.Match(line);
                Assert.True(m.Success, line);
                int l = int.Parse(m.Groups[1].Value), r = int.Parse(m.Groups[3].Value), res = int.Parse(m.Groups[4].Value);
                Assert.Equal(m.Groups[2].Value switch { "+" => l + r, "-" => l - r, _ => l * r }, res);
            }
            Assert.Equal(1.0, language.Score([new RewardInput("", string.Join("\n", lines[1..]), new Dictionary<string, string> { ["language"] = d.Language })])[0]);
        }
    }

    [Fact]
    public void General_documents_are_a_question_and_its_good_reply()
    {
        var docs = EmbeddedTask.PretrainingDocuments(new PretrainingCorpusOptions(1000, Seed: 4, FactShare: 0.2, DirectShare: 0.35,
            WorkedShare: 0.15, TextbookShare: 0.25, GeneralShare: 0.05));
        var general = docs.Where(d => d.Kind == CorpusDocumentKind.General).ToList();
        Assert.Equal(50, general.Count);
        Assert.Equal(350, docs.Count(d => d.Kind == CorpusDocumentKind.DirectAnswer));
        var replies = EmbeddedTask.PreferencePairs(400, 0).Select(p => p.Chosen).Concat(EmbeddedTask.GeneralSftExamples(400).Select(e => e.Completion)).ToHashSet();
        Assert.All(general, d =>
        {
            var lines = d.Text.Split('\n');
            Assert.Equal(2, lines.Length);
            Assert.DoesNotContain("<", d.Text);
            Assert.Contains(d.Language, new[] { "en", "fr" });
        });
        int known = general.Count(d => replies.Contains(d.Text.Split('\n')[1]));
        Assert.True(known > 30, $"{known} of 50 general documents carry a reply the later stages use"); // the replies the later stages want
    }

    [Fact]
    public void Corpus_options_are_validated() =>
        Assert.Throws<ArgumentException>(() => EmbeddedTask.PretrainingCorpus(new PretrainingCorpusOptions(FactShare: 0.5, DirectShare: 0.5, WorkedShare: 0.5)));

    [Theory]
    [InlineData("66", "<think> x </think> <answer> 66 </answer>", true)]
    [InlineData("66", "<answer>66.</answer>", true)]
    [InlineData("66", "<answer> 65 </answer>", false)]
    [InlineData("66", "<answer> 66 apples </answer>", false)]
    [InlineData("66", "The answer is \\boxed{66}.", true)]
    [InlineData("66", "\\boxed{6} then \\boxed{66}", true)]
    [InlineData("66", "66", false)]
    [InlineData("x", "<answer> 66 </answer>", null)]
    public void Grade(string gold, string completion, bool? expected) => Assert.Equal(expected, EmbeddedTask.Grade(gold, completion));

    [Fact]
    public void General_data_for_reward_models_and_sft()
    {
        var pairs = EmbeddedTask.PreferencePairs(400, seed: 1);
        Assert.Equal(pairs.Select(p => p.Chosen), EmbeddedTask.PreferencePairs(400, seed: 1).Select(p => p.Chosen));
        Assert.All(pairs, p => Assert.NotEqual(p.Chosen, p.Rejected));
        Assert.Contains(pairs, p => p.Category == "harmless");
        Assert.Contains(pairs, p => p.Category == "helpful");
        Assert.Contains(pairs, p => p.Language == "fr");
        Assert.Contains(pairs, p => p.Language == "en");
        // Chosen replies are in the prompt's language; some rejected ones are not (the language reward can tell).
        var language = new LanguageConsistencyReward();
        double? Share(string text, string lang) => language.Score([new RewardInput("", text, new Dictionary<string, string> { ["language"] = lang })])[0];
        Assert.All(pairs, p => Assert.NotEqual(0.0, Share(p.Chosen, p.Language)));
        Assert.Contains(pairs, p => Share(p.Rejected, p.Language) == 0.0);

        var sft = EmbeddedTask.GeneralSftExamples(100);
        Assert.All(sft, e => Assert.Equal(e.Reference["response"], e.Completion));
        Assert.All(sft, e => Assert.Equal(PromptTemplates.RenderPlain(e.Question), e.Prompt));
        var general = EmbeddedTask.GeneralTask(100);
        Assert.Equal(100, general.Examples.Select(e => e.Id).Distinct().Count());
        Assert.All(general.Examples, e => Assert.Contains(e.Field("category"), new[] { "helpful", "harmless" }));
    }

    [Fact]
    public void Some_rejected_replies_have_the_right_sentence_about_the_wrong_things()
    {
        // The failures a small model shows on general prompts: a greeting to someone else, a comparison of numbers the
        // question does not name. The reward models see them as rejected replies, from the same side of the data.
        foreach (var (pairs, other) in new[] { (EmbeddedTask.PreferencePairs(2000, seed: 2), EmbeddedTask.HeldOutPreferencePairs(2000, seed: 2)),
                                               (EmbeddedTask.HeldOutPreferencePairs(2000, seed: 2), EmbeddedTask.PreferencePairs(2000, seed: 2)) })
        {
            var greetings = pairs.Where(p => (p.Question.StartsWith("Say hello", StringComparison.Ordinal) || p.Question.StartsWith("Dis bonjour", StringComparison.Ordinal))
                && (p.Rejected.StartsWith("Hello, ", StringComparison.Ordinal) || p.Rejected.StartsWith("Bonjour, ", StringComparison.Ordinal))).ToList();
            Assert.NotEmpty(greetings);
            Assert.All(greetings, p => Assert.NotEqual(p.Chosen, p.Rejected));
            string Name(string reply) => reply.Split(", ")[1].TrimEnd('!', ' ');
            var otherSide = other.Where(p => p.Question.StartsWith("Say hello", StringComparison.Ordinal)).Select(p => Name(p.Chosen)).ToHashSet();
            Assert.All(greetings, p => Assert.DoesNotContain(Name(p.Rejected), otherSide));   // never a name of the other side

            var numbers = new System.Text.RegularExpressions.Regex(@"\d+");
            var comparisons = pairs.Where(p => p.Question.StartsWith("Which is larger", StringComparison.Ordinal) && char.IsDigit(p.Rejected[0])).ToList();
            var elsewhere = comparisons.Where(p => !numbers.Matches(p.Rejected).Select(m => m.Value).Any(n => numbers.Matches(p.Question).Any(q => q.Value == n))).ToList();
            Assert.NotEmpty(elsewhere);
            Assert.All(elsewhere, p =>
            {
                var r = numbers.Matches(p.Rejected).Select(m => int.Parse(m.Value)).ToArray();
                Assert.True(r[0] > r[1] && r[1] >= 1 && r[0] <= 99, p.Rejected);
            });
            Assert.Contains(comparisons, p => !elsewhere.Contains(p));   // and the other half still swaps the two
            Assert.Contains(greetings, p => Name(p.Rejected) != Name(p.Chosen));
        }
        // Half the unhelpful replies answer another question: an arithmetic answer (either format), or another kind's reply.
        var unhelpful = EmbeddedTask.PreferencePairs(2000, seed: 2).Where(p => p.Category == "helpful").Select(p => p.Rejected).ToList();
        Assert.Contains(unhelpful, r => r.StartsWith("The answer is \\boxed{", StringComparison.Ordinal));
        Assert.Contains(unhelpful, r => r.StartsWith("La réponse est \\boxed{", StringComparison.Ordinal));
        Assert.Contains(unhelpful, r => r.StartsWith("<answer> ", StringComparison.Ordinal));
        Assert.Contains(EmbeddedTask.PreferencePairs(2000, seed: 2), p => p.Question.StartsWith("How do you say", StringComparison.Ordinal) && p.Rejected.EndsWith("is blue.", StringComparison.Ordinal));
    }
}
